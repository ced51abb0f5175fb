package testenv

import (
	"regexp"
	"testing"
)

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestX":               "^TestX$",
		"TestX/sub_case":      "^TestX$/^sub_case$",
		"TestX/a.b+c/(d)":     `^TestX$/^a\.b\+c$/^\(d\)$`,
		"TestUnreadableFile":  "^TestUnreadableFile$",
		"TestHarm/harm-v1/x*": `^TestHarm$/^harm-v1$/^x\*$`,
	} {
		got := runPattern(name)
		if got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
		for _, part := range regexp.MustCompile(`/`).Split(got, -1) {
			regexp.MustCompile(part)
		}
	}
}
