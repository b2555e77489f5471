package main

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheckPrognosis reads prognoses in Kuberpult's JSON shape (api's envsPrognoses) against
// a plan of two apps on one environment.
func TestCheckPrognosis(t *testing.T) {
	want := planned{"production-us": {"app-0000": 51, "app-0001": 51}}
	to := func(v string) string { return `{"deployedVersion":{"version":` + v + `,"revision":0}}` }
	const skipped = `{"skipCause":"APP_ALREADY_IN_UPSTREAM_VERSION"}`
	env := func(apps string) string {
		return `{"envsPrognoses":{"production-us":{"appsPrognoses":{"prognoses":{` + apps + `}}}}}`
	}
	tests := []struct {
		name     string
		body     string
		listed   int
		problems []string
	}{
		{"as planned", env(`"app-0000":` + to("51") + `,"app-0001":` + to("51") + `,"app-0002":` + skipped), 2, nil},
		{"wrong version", env(`"app-0000":` + to("50") + `,"app-0001":` + to("51")), 2,
			[]string{"prognosis: app-0000 on production-us to another version than 51"}},
		{"missing and extra", env(`"app-0000":` + to("51") + `,"app-0002":` + to("51")), 2,
			[]string{"prognosis: app-0002 on production-us deployed, though it runs the upstream's version", "prognosis: app-0001 on production-us missing"}},
		{"app skipped", env(`"app-0000":` + to("51") + `,"app-0001":{"skipCause":"APP_IS_LOCKED"}`), 1,
			[]string{"prognosis: app-0001 on production-us skipped: APP_IS_LOCKED"}},
		{"env skipped", `{"envsPrognoses":{"production-us":{"skipCause":"ENV_IS_LOCKED"}}}`, 0,
			[]string{"prognosis: production-us skipped: ENV_IS_LOCKED"}},
		{"no env", `{"envsPrognoses":{}}`, 0,
			[]string{"prognosis: no environment production-us", "prognosis: 0 environments, want 1"}},
		{"not JSON", `<html>`, 0, []string{"prognosis: invalid character '<' looking for beginning of value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			n := checkPrognosis([]byte(tc.body), want, func(format string, args ...any) {
				got = append(got, fmt.Sprintf(format, args...))
			})
			if n != tc.listed {
				t.Errorf("listed %d, want %d", n, tc.listed)
			}
			if diff := cmp.Diff(tc.problems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
