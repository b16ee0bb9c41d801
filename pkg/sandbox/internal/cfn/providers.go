package cfn

import (
	"errors"
	"fmt"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// pctx is what a provider action sees: the stack, its account and region, and
// the identity CloudFormation acts as (the caller, or the stack's service role).
type pctx struct {
	s       *Service
	st      *stack
	call    *awsapi.Call
	account string
	region  string
}

// provider creates, updates and deletes one resource type. update may be nil:
// the properties are then only recorded. replace maps the properties whose
// change requires a new physical resource to "Always" or "Conditionally".
type provider struct {
	create  func(c *pctx, r *resource, props map[string]any) error
	update  func(c *pctx, r *resource, old, props map[string]any) error
	delete  func(c *pctx, r *resource) error
	replace map[string]string
	// attrs lists the GetAtt attributes; nil accepts any.
	attrs []string
}

// authorize checks an action the resource provider performs; a denial reads as
// CloudFormation reports the underlying service's error.
func (c *pctx) authorize(action, arn, service string) error {
	if c.s.opts.Authorizer == nil {
		return nil
	}
	call := *c.call
	call.Time = c.s.now()
	err := c.s.opts.Authorizer.Authorize(&call, action, awsapi.Resource{ARN: arn, Account: c.account}, nil)
	if err != nil {
		return serviceError(service, err)
	}
	return nil
}

// serviceError formats a service error as CloudFormation puts it in a resource status reason.
func serviceError(service string, err error) error {
	e := awsapi.AsError(err)
	return fmt.Errorf("%s (Service: %s, Status Code: %d, Request ID: %s)", e.Message, service, e.Status, newUUID())
}

func isCode(err error, codes ...string) bool {
	var e *awsapi.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

var errNoBackend = errors.New("the sandbox has no backend for this resource type")

// providers maps resource types to their providers; each provider_<service>.go
// file adds its own types.
var providers = map[string]*provider{}

// providerFor returns the provider of a type; types without one get the
// generic provider (generic.go).
func providerFor(typ string) *provider {
	if p := providers[typ]; p != nil {
		return p
	}
	if isCustomType(typ) {
		return customResourceProvider
	}
	return genericProvider
}

// withBackend serves a modelled type through p when the service has its
// backend, and as a generic resource otherwise (a Service built without it,
// as CloudFormation's own tests build one).
func withBackend(p *provider, has func(*Service) bool) *provider {
	return &provider{
		replace: p.replace,
		attrs:   p.attrs,
		create: func(c *pctx, r *resource, props map[string]any) error {
			if !has(c.s) {
				return genericProvider.create(c, r, props)
			}
			return p.create(c, r, props)
		},
		update: func(c *pctx, r *resource, old, props map[string]any) error {
			if !has(c.s) {
				return nil
			}
			return p.update(c, r, old, props)
		},
		delete: func(c *pctx, r *resource) error {
			if !has(c.s) {
				return genericProvider.delete(c, r)
			}
			return p.delete(c, r)
		},
	}
}
