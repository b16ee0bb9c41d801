// Package awsapi holds what every service of the local AWS sandbox shares: the
// authenticated caller of a request, AWS-shaped errors, and the encoders for the
// wire protocols the sandbox speaks (Query/XML, JSON 1.1, REST/XML and
// REST-JSON, whose routes are read from aws-sdk-go-v2's schemas).
//
// Service packages receive plain http.Requests whose context carries a *Call
// (see CallFrom); they never see credentials or signatures.
package awsapi
