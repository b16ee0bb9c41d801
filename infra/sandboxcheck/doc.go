// Package sandboxcheck holds a small CDK app (app/) that uses, in one
// stack, what stackerless's master app deploys: a Go Lambda (handler/), a
// state machine invoking it, a bucket whose uploads EventBridge routes to
// the state machine, and a schedule. Its test deploys it into the local
// sandbox with the CDK CLI. The test links no CDK: the CLI runs the app.
package sandboxcheck
