package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseFlags checks the phases a command line runs, in their fixed order, and the
// refusals of a world without a group to train into.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		phases []string
		err    string
	}{
		{"default", nil, []string{"latency", "steady", "train", "onboarding", "history"}, ""},
		{"order and duplicates", []string{"-phases", "onboarding,train,latency,train"}, []string{"latency", "train", "onboarding"}, ""},
		{"no group: no train", []string{"-group-envs", "0"}, []string{"latency", "steady", "onboarding", "history"}, ""},
		{"no group, train asked for", []string{"-group-envs", "0", "-phases", "train"}, nil, "the train phase needs -group-envs ≥ 1"},
		{"all in the group", []string{"-group-envs", "10"}, nil, "-group-envs 10: want 0 to 9 (at least one environment stays upstream latest)"},
		{"unknown", []string{"-phases", "trains"}, nil, `unknown phase "trains"; phases: latency, steady, train, onboarding, history`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if got := errText(err); got != tc.err {
				t.Fatalf("error %q, want %q", got, tc.err)
			}
			if err == nil {
				if diff := cmp.Diff(tc.phases, o.phases); diff != "" {
					t.Errorf("phases (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
