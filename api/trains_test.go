package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"kuberpult/deploy"
)

// TestTrainAPI: Kuberpult's train routes (with and without /api, environment and group),
// the prognosis JSON in Kuberpult's shape, and errors for unknown targets and wrong methods.
func TestTrainAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.release("checkout", 1, "payments", allEnvs...)
	s.release("search", 1, "", "development")

	code, _, body := s.send(rawRequest(t, s, http.MethodPut, "/api/environments/staging/releasetrain?team=payments", "", "", nil))
	var ans trainAnswer
	if err := json.Unmarshal(body, &ans); err != nil || code != http.StatusOK || ans.Target != "staging" || ans.Team != "payments" || ans.Deployed != 1 {
		t.Fatalf("PUT staging train: %d %s (%v)", code, body, err)
	}
	if d, _ := s.state().Deployed("staging", "checkout"); d.Version != 1 || d.How != deploy.HowTrain {
		t.Errorf("staging after the train: %+v", d)
	}

	if _, err := s.h.State(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, _, body = s.send(rawRequest(t, s, http.MethodGet, "/api/environments/production/releasetrain/prognosis", "", "", nil))
	if code != http.StatusOK {
		t.Fatalf("prognosis: %d %s", code, body)
	}
	var prog prognosisJSON
	if err := json.Unmarshal(body, &prog); err != nil {
		t.Fatal(err)
	}
	de := prog.EnvsPrognoses["production-de"]
	if de.AppsPrognoses == nil || de.AppsPrognoses.Prognoses["checkout"].DeployedVersion == nil || de.AppsPrognoses.Prognoses["checkout"].DeployedVersion.Version != 1 {
		t.Errorf("prognosis of production-de: %s", body)
	}
	if !strings.Contains(string(body), `"envsPrognoses"`) || !strings.Contains(string(body), `"appsPrognoses"`) {
		t.Errorf("not Kuberpult's shape: %s", body)
	}
	if d, _ := s.state().Deployed("production-de", "checkout"); d.Version != 0 {
		t.Errorf("the prognosis deployed: %+v", d)
	}

	// As Kuberpult's CLI sends it: `release-train --target-environment production
	// --use_env_group_target --ci_link …` (PUT, a JSON body with ciLink, base64 author headers).
	h := http.Header{"Author-Name": {"SmFuZSBEb2U="}, "Author-Email": {"amFuZUBleGFtcGxlLmNvbQ=="}}
	code, _, body = s.send(rawRequest(t, s, http.MethodPut, "/api/environment-groups/production/releasetrain", "application/json", `{"ciLink":"https://ci.example.com/run/1"}`, h))
	if code != http.StatusOK {
		t.Fatalf("group train: %d %s", code, body)
	}
	if d, _ := s.state().Deployed("production-jp", "checkout"); d.Version != 1 {
		t.Errorf("production-jp after the group train: %+v", d)
	}

	for _, tc := range []struct {
		method, path string
		code         int
		says         string
	}{
		{http.MethodGet, "/api/environments/staging/releasetrain", http.StatusMethodNotAllowed, "use PUT"},
		{http.MethodPut, "/api/environments/production/releasetrain", http.StatusNotFound, "could not find target of type ENVIRONMENT and name 'production'"},
		{http.MethodPut, "/api/environment-groups/staging2/releasetrain", http.StatusNotFound, "could not find target of type ENVIRONMENTGROUP and name 'staging2'"},
		{http.MethodGet, "/api/environments/nowhere/releasetrain/prognosis", http.StatusNotFound, "could not find environment group or environment configs for 'nowhere'"},
		{http.MethodPut, "/api/environments/staging/releasetrain?team=Bad%20Team", http.StatusBadRequest, "team"},
	} {
		code, _, body := s.send(rawRequest(t, s, tc.method, tc.path, "", "", nil))
		if code != tc.code || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s %s = %d %s; want %d saying %q", tc.method, tc.path, code, body, tc.code, tc.says)
		}
	}
}
