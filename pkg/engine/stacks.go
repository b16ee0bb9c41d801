package engine

import (
	"context"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/cfn"
)

// An Advance reads the stacks of an account and region in pages
// (DescribeStacks without a name) rather than one call per stack, when it
// has more stacks to look at there than the listing takes pages: polls,
// starts (the no-change check included) and outputs then share one read,
// so a step costs about one call per account and page whatever the number
// of stacks. CloudFormation throttles DescribeStacks per account and region.

// snapshot is one Advance's view of the stacks listed so far, per (profile,
// region). It is dropped at the next Advance, so nothing it holds is older
// than the step that reads it.
type snapshot struct {
	mu       sync.Mutex
	accounts map[accountKey]*listing
	// now is when the step began: stacks in flight whose poll is not due
	// then are not looked at.
	now time.Time
}

type accountKey struct{ profile, region string }

// listing is one account and region's stacks. ready is closed once the
// listing is read (or failed), so concurrent polls wait for one read.
type listing struct {
	ready  chan struct{}
	err    error
	byName map[string]*cfn.Stack
	byID   map[string]*cfn.Stack
}

// stack describes the stack ref (its name or ID) in s's account: from this
// Advance's listing of that account when listing pays off, else with one
// call. A stack known by ID and missing from the listing (deleted: only
// its ID finds it) is asked for directly, and what a direct call says
// replaces what the listing said.
func (e *Engine) stack(ctx context.Context, run *Run, cf CloudFormation, s *StackState, ref string) (*cfn.Stack, error) {
	l, err := e.listing(ctx, run, cf, s)
	if err != nil {
		return nil, err
	}
	if l != nil {
		run.snap.mu.Lock()
		st, byName := l.byName[ref]
		if !byName {
			st = l.byID[ref]
		}
		run.snap.mu.Unlock()
		if st != nil || ref == s.FQN {
			return st, nil
		}
	}
	st, err := cf.Describe(ctx, ref)
	if err != nil || l == nil || st == nil || l.err != nil {
		return st, err
	}
	run.snap.mu.Lock()
	defer run.snap.mu.Unlock()
	l.byID[st.ID] = st
	if cur := l.byName[st.Name]; st.Status.Gone() && cur != nil && cur.ID == st.ID {
		delete(l.byName, st.Name)
	} else if !st.Status.Gone() {
		l.byName[st.Name] = st
	}
	return st, nil
}

// listing returns this Advance's listing of s's account and region, reading
// it first if needed; nil when one call per stack is cheaper there.
func (e *Engine) listing(ctx context.Context, run *Run, cf CloudFormation, s *StackState) (*listing, error) {
	if run.snap == nil {
		return nil, nil // outside an Advance
	}
	key := accountKey{s.Profile, s.Region}
	run.snap.mu.Lock()
	l, ok := run.snap.accounts[key]
	if !ok {
		if !e.worthListing(run, key) {
			run.snap.mu.Unlock()
			return nil, nil
		}
		l = &listing{ready: make(chan struct{})}
		run.snap.accounts[key] = l
		run.snap.mu.Unlock()
		stacks, pages, err := cf.Stacks(ctx)
		run.snap.mu.Lock()
		if err != nil {
			// A later stack of this step tries again rather than sharing
			// the error.
			delete(run.snap.accounts, key)
			l.err = err
		} else {
			l.byName = make(map[string]*cfn.Stack, len(stacks))
			l.byID = make(map[string]*cfn.Stack, len(stacks))
			for _, st := range stacks {
				l.byName[st.Name], l.byID[st.ID] = st, st
			}
			if run.StackPages == nil {
				run.StackPages = map[string]int{}
			}
			run.StackPages[key.String()] = pages
		}
		close(l.ready)
		run.snap.mu.Unlock()
		e.debug("listed stacks", s, "pages", pages, "error", err)
		return l, err
	}
	run.snap.mu.Unlock()
	select {
	case <-l.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return l, l.err
}

// worthListing says whether reading the account's stacks in pages costs
// fewer calls than describing, one by one, the run's stacks there that this
// step may look at: those in flight whose poll is due in this step, and
// those waiting to start whose dependencies are done. Nothing is kept when it
// says no, so a later look in the same step (dependents that became ready)
// asks again. A listing's page count is remembered in the run; an account
// not yet listed is assumed to take one page. run.snap.mu must be held.
func (e *Engine) worthListing(run *Run, key accountKey) bool {
	n := 0
	for _, s := range run.Stacks {
		if s.Profile != key.profile || s.Region != key.region || s.State.Terminal() ||
			s.Phase == PhaseChangeSet || s.Phase == PhaseApproval ||
			s.inFlight() && run.snap.now.Before(s.PollAt) {
			continue
		}
		if !s.inFlight() {
			if ready, _ := e.depsDone(run, s); !ready {
				continue
			}
		}
		n++
	}
	pages := max(run.StackPages[key.String()], 1)
	return n > 1 && n >= pages
}

func (k accountKey) String() string { return k.profile + "|" + k.region }

// ListedStack returns a stack as the current Advance's listing of its
// account and region shows it, for lookups that read outputs of stacks
// outside the run: ok is false when that account was not listed (the caller
// then asks CloudFormation), and st nil when the listing has no such stack.
func (r *Run) ListedStack(profile, region, name string) (st *cfn.Stack, ok bool) {
	if r.snap == nil {
		return nil, false
	}
	r.snap.mu.Lock()
	defer r.snap.mu.Unlock()
	l, found := r.snap.accounts[accountKey{profile, region}]
	if !found {
		return nil, false
	}
	select {
	case <-l.ready:
	default:
		return nil, false // still being read
	}
	if l.err != nil {
		return nil, false
	}
	return l.byName[name], true
}
