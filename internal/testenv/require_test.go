package testenv

import "testing"

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string
		want bool
	}{
		{map[string]string{}, Runc, false},
		{map[string]string{"RIGHTSIZE_REQUIRE_RUNC": "1"}, Runc, true},
		{map[string]string{"RIGHTSIZE_REQUIRE_RUNC": "1"}, Qemu, false},
		{map[string]string{"RIGHTSIZE_REQUIRE": "1"}, Qemu, true},
		{map[string]string{"RIGHTSIZE_REQUIRE": "0"}, Qemu, false},
		{map[string]string{"RIGHTSIZE_REQUIRE_DOCKER": "1"}, Podman, true},
		{map[string]string{"RIGHTSIZE_REQUIRE_PODMAN": "1"}, Docker, false},
		{map[string]string{"CI": "true"}, Runc, false},
	} {
		for _, k := range []string{"RIGHTSIZE_REQUIRE", "RIGHTSIZE_REQUIRE_RUNC", "RIGHTSIZE_REQUIRE_QEMU", "RIGHTSIZE_REQUIRE_DOCKER", "RIGHTSIZE_REQUIRE_PODMAN", "CI"} {
			t.Setenv(k, tc.env[k])
		}
		if got := Required(tc.name); got != tc.want {
			t.Errorf("%v: Required(%s) = %v, want %v", tc.env, tc.name, got, tc.want)
		}
	}
}
