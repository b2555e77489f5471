// Package api is Kuberpult's HTTP API for CI. It speaks the request shapes of the original
// Kuberpult, so its command line client and existing curl scripts work unchanged:
//
//	curl -f https://kuberpult.example.com/api/release \
//	  -H "author-name: $(printf %s 'Jane Doe' | base64)" \
//	  -H "author-email: $(printf %s 'jane@example.com' | base64)" \
//	  --form-string application=checkout \
//	  --form-string version=42 \
//	  --form-string team=payments \
//	  --form-string source_commit_id=0123456789abcdef0123456789abcdef01234567 \
//	  --form "manifests[development]=@development.yaml" \
//	  --form "manifests[production-de]=@production-de.yaml"
//
// A new release answers 201, the same release sent again 200, a different release under an
// existing version 409, an invalid request 400; every body is JSON (see [Server]).
//
// Besides the release endpoints the server offers /healthz, /readyz and /metrics (the
// Prometheus text format, written by hand). Every route that acts on Kuberpult's state runs
// behind one authenticate step that puts the acting caller into the request context; for
// now it lets every caller in as an anonymous API client. The author-name and author-email
// headers only say whom a release is recorded for; they never grant anything.
//
// PGP signatures (the signatures[<env>] parts of the legacy /release endpoint) are accepted
// and ignored: they are not verified.
package api
