package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPipeline(t *testing.T) {
	es := Environments{
		"production-de": {Upstream: &Upstream{Environment: "staging"}, Group: "production"},
		"production-jp": {Upstream: &Upstream{Environment: "staging"}, Group: "production"},
		"staging":       {Upstream: &Upstream{Environment: "development"}},
		"development":   {Upstream: &Upstream{Latest: true}},
		"canary":        {Upstream: &Upstream{Environment: "nowhere"}},
		"a-loop":        {Upstream: &Upstream{Environment: "b-loop"}},
		"b-loop":        {Upstream: &Upstream{Environment: "a-loop"}},
	}
	got := es.Pipeline()
	want := []Env{"canary", "development", "staging", "production-de", "production-jp"}
	// the loop's two environments come in some order after the others at depth ≥ 1; the
	// order of the pipeline proper is what matters
	var proper []Env
	for _, e := range got {
		if e != "a-loop" && e != "b-loop" {
			proper = append(proper, e)
		}
	}
	if diff := cmp.Diff(want, proper); diff != "" {
		t.Errorf("Pipeline (-want +got):\n%s", diff)
	}
	if len(got) != len(es) {
		t.Errorf("Pipeline lost environments: %v", got)
	}
}
