// Package sts serves the sandbox's STS Query API (GetCallerIdentity, AssumeRole,
// GetSessionToken) on top of the iam store.
package sts

import (
	"net/http"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
)

const namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Service is the STS handler.
type Service struct{ store *iam.Store }

// New returns the STS Query API handler.
func New(store *iam.Store) *Service { return &Service{store: store} }

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.WriteQueryError(w, awsapi.CallFrom(r.Context()), namespace, awsapi.Errorf(http.StatusNotImplemented, "NotImplemented", "not implemented"))
}
