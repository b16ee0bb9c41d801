package faults

import "time"

// KillLambdaInstance makes the next invocation of the Lambda function with
// this name lose its instance: the process is killed after running for
// `after`, and the invocation fails as a crash does (Runtime.ExitError,
// "signal: killed"). Each call arms one kill.
func (f *Injector) KillLambdaInstance(function string, after time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills[function] = append(f.kills[function], after)
}

// LambdaKill takes the next armed kill for the function, if any.
func (f *Injector) LambdaKill(function string) (after time.Duration, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pending := f.kills[function]
	if len(pending) == 0 {
		return 0, false
	}
	after = pending[0]
	if len(pending) == 1 {
		delete(f.kills, function)
	} else {
		f.kills[function] = pending[1:]
	}
	return after, true
}

// ThrottleLambda makes the next n synchronous invocations of the Lambda
// function with this name fail as Lambda throttles a function at its
// concurrency limit: 429 TooManyRequestsException, "Rate Exceeded.". A Step
// Functions Task sees it as Lambda.TooManyRequestsException, which its
// Retry can match. Each call adds n.
func (f *Injector) ThrottleLambda(function string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lambdaThrottles[function] += n
}

// LambdaThrottle takes one armed throttle of the function, if any.
func (f *Injector) LambdaThrottle(function string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lambdaThrottles[function] == 0 {
		return false
	}
	f.lambdaThrottles[function]--
	if f.lambdaThrottles[function] == 0 {
		delete(f.lambdaThrottles, function)
	}
	return true
}
