// Package api is Kuberpult's HTTP API for CI. It speaks the request shapes of the original
// Kuberpult, so its command line client and existing curl scripts work unchanged:
//
//	curl -f https://kuberpult.example.com/api/release \
//	  -H "Authorization: Bearer $KUBERPULT_DEX_ACCESS_TOKEN" \
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
// Locks are created with PUT and a JSON body, and removed with DELETE, on Kuberpult's paths
// (with or without the /api prefix kuberpult-client adds for --use_dex_auth):
//
//	curl -f -X PUT https://kuberpult.example.com/api/environments/staging/locks/freeze \
//	  -H "Authorization: Bearer $KUBERPULT_DEX_ACCESS_TOKEN" -H 'Content-Type: application/json' \
//	  -d '{"message": "release freeze", "suggestedLifeTime": "2d"}'
//	curl -f -X DELETE https://kuberpult.example.com/api/environments/staging/locks/freeze \
//	  -H "Authorization: Bearer $KUBERPULT_DEX_ACCESS_TOKEN"
//
// The same goes for /environments/<env>/applications/<app>/locks/<id> (app lock),
// /environments/<env>/lock/team/<team>/<id> (team lock) and /environment-groups/<group>/locks/<id>
// (the same environment lock on every environment of the group). A PUT with the id of an
// existing lock replaces it; a DELETE removes exactly that lock and answers 200 "noop" when
// there is none, so retried requests are harmless. "ciLink" is accepted and not recorded.
// The read endpoints GET /api/environments, /api/applications and /api/locks answer JSON
// for boards, and GET /api/environments/<env>/applications/<app>/commit the source commit
// deployed there, as Kuberpult does.
//
// Authentication: with Options.Tokens set, every endpoint but /healthz, /readyz and
// /metrics needs "Authorization: Bearer <secret>" of one of the tokens (else 401, before
// anything else happens), and the caller acts as the API client "token:<name>" — the id
// policy lines bind roles to. Without tokens every caller is an anonymous API client. The
// author-name and author-email headers (base64) only say whom a change is recorded for;
// they never grant anything. Secrets never reach logs, answers or metrics.
//
// The API authenticates, decodes and maps; the command handler it is given (a [Handler])
// checks permissions and acts. Besides the endpoints above the server offers /healthz,
// /readyz and /metrics (the Prometheus text format, written by hand).
//
// PGP signatures (the signatures[<env>] parts of the legacy /release endpoint and the
// "signature" of lock bodies) are accepted and ignored: they are not verified.
package api
