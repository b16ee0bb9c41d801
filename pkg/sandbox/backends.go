package sandbox

import (
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/events"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/ssm"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/sts"
)

// backends wires the service packages together.
type backends struct {
	services map[string]*service
	keys     keyring
	rootKeys func(account string) (akid, secret string)
	close    func()
	ssm      *ssm.Service
	events   *events.Service
}

func newBackends(s *Sandbox) (*backends, error) {
	b := &backends{services: newServices(), close: func() {}}

	accts := make([]iam.Account, 0, len(s.opts.Accounts))
	for _, a := range s.opts.Accounts {
		accts = append(accts, iam.Account{Name: a.Name, ID: a.ID})
	}
	store := iam.NewStore(iam.Options{Accounts: accts, OrgID: s.opts.OrgID, Now: s.opts.Now})
	var authz awsapi.Authorizer = store
	if akid, _ := store.RootKeys(s.opts.Accounts[0].ID); akid != "" {
		b.keys = storeKeyring{store}
		b.rootKeys = store.RootKeys
	} else {
		// The identity store does not issue keys yet: serve root keys and
		// root-only authorization from the core so the other services work.
		ring := newRootKeyring(s.opts.Accounts)
		b.keys, b.rootKeys, authz = ring, ring.rootKeys, rootOnlyAuthorizer{}
	}
	b.services["sts"].handler = sts.New(store)
	b.services["iam"].handler = iam.NewAPI(store)

	s3svc := s3.New(s3.Options{Authorizer: authz, Notify: func(ev s3.ObjectCreated) {
		s.publishObjectCreated(ObjectCreated(ev))
	}})
	b.services["s3"].handler = s3svc
	b.ssm = ssm.New(authz)
	b.services["ssm"].handler = b.ssm
	cfnsvc := cfn.New(cfn.Options{Authorizer: authz, IAM: store, S3: s3svc, SSM: b.ssm, Faults: s.faults,
		StackDuration: s.opts.StackDuration, Now: s.opts.Now})
	b.services["cloudformation"].handler = cfnsvc
	b.close = cfnsvc.Close
	b.events = events.New(authz)
	b.services["events"].handler = b.events
	return b, nil
}

// storeKeyring adapts the identity store to the core's keyring.
type storeKeyring struct{ store *iam.Store }

func (k storeKeyring) lookupKey(akid string) (credential, bool) {
	c, ok := k.store.LookupAccessKey(akid)
	if !ok {
		return credential{}, false
	}
	return credential{Secret: c.SecretAccessKey, Token: c.SessionToken, Caller: c.Caller}, true
}

// rootOnlyAuthorizer allows root callers everything in their own account; it
// stands in until the identity store is wired.
type rootOnlyAuthorizer struct{}

func (rootOnlyAuthorizer) Authorize(call *awsapi.Call, action string, res awsapi.Resource, _ map[string]string) error {
	if call.Caller != nil && call.Caller.Root && (res.Account == "" || res.Account == call.Caller.Account) {
		return nil
	}
	arn := ""
	if call.Caller != nil {
		arn = call.Caller.ARN
	}
	return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s", arn, action, res.ARN)
}

// rootKeyring holds root keys until the identity store is wired.
type rootKeyring struct {
	mu     sync.Mutex
	byKey  map[string]credential
	byAcct map[string][2]string
}

func newRootKeyring(accounts []AccountSpec) *rootKeyring {
	k := &rootKeyring{byKey: map[string]credential{}, byAcct: map[string][2]string{}}
	for _, a := range accounts {
		akid, secret := "AKIA"+randomString(16, upperAlnum), randomString(40, secretChars)
		k.byKey[akid] = credential{Secret: secret, Caller: awsapi.Caller{
			Account: a.ID, ARN: fmt.Sprintf("arn:aws:iam::%s:root", a.ID), UserID: a.ID, Root: true, AccessKeyID: akid,
		}}
		k.byAcct[a.ID] = [2]string{akid, secret}
	}
	return k
}

func (k *rootKeyring) lookupKey(akid string) (credential, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.byKey[akid]
	return c, ok
}

func (k *rootKeyring) rootKeys(account string) (string, string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v := k.byAcct[account]
	return v[0], v[1]
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
