// Package awsapi holds what every service of the local AWS sandbox shares: the
// authenticated caller of a request, AWS-shaped errors, and the encoders for the
// wire protocols the sandbox speaks (Query/XML, JSON 1.0 and 1.1, REST/XML and
// REST-JSON, whose routes are read from aws-sdk-go-v2's schemas or listed by hand).
//
// Service packages receive plain http.Requests whose context carries a *Call
// (see CallFrom); they never see credentials or signatures.
//
// A service describes itself with a Descriptor (signing name, protocol,
// X-Amz-Target prefix or XML namespace, its errors, the SDK client whose
// inputs name its parameters, REST routes, body cap). Adding one to the
// sandbox is a package under pkg/sandbox/internal/<service> that declares its
// Descriptor and serves its actions (ServeQuery, ServeJSON, RESTJSON.Read),
// plus one line in the sandbox's backends registering the Descriptor with the
// service's handler: the router then routes, authenticates, checks
// parameters, injects faults and writes errors for it.
package awsapi
