// Package argocd is the only package that talks to Argo CD. It holds a small client of
// Argo CD's REST API (the gRPC gateway under /api/v1): one application, a list by label
// selector, and the watch stream of application events; with a bearer token, TLS with a
// CA file or without verification, a timeout per request and typed errors.
//
// It does not import Argo CD's Go modules (they need a newer Go and pull in more than a
// hundred modules): Application and its parts are our own trimmed types, with the JSON
// names of Argo CD's API (pkg/apis/application/v1alpha1 in argoproj/argo-cd). Fields we
// do not declare are ignored when decoding.
//
// Package argocdfake is a fake Argo CD server speaking the same JSON, for tests.
package argocd
