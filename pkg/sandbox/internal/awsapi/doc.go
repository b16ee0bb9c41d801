// Package awsapi holds what every service of the local AWS sandbox shares: the
// authenticated caller of a request, AWS-shaped errors, and the encoders for the
// three wire protocols the sandbox speaks (Query/XML, JSON 1.1 and REST/XML).
//
// Service packages receive plain http.Requests whose context carries a *Call
// (see CallFrom); they never see credentials or signatures.
package awsapi
