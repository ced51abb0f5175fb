package engine

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// StartTimeout bounds starting an engine and importing the image.
const StartTimeout = 3 * time.Minute

// The image and each engine are shared by the tests of the process that
// hold them and released when the last holder's test has finished: with
// UseDocker called before t.Parallel, every docker test of a package run
// uses one daemon, started once. A failure to start is remembered, so that
// the other tests skip (or fail) with the same reason at once.
type shared[T any] struct {
	mu   sync.Mutex
	val  *T
	err  error
	refs int
	stop func(*T) error
}

func (s *shared[T]) acquire(start func() (*T, error)) (v *T, first bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, false, s.err
	}
	if s.val == nil {
		v, err := start()
		if err != nil {
			s.err = err
			return nil, false, err
		}
		s.val, first = v, true
	}
	s.refs++
	return s.val, first, nil
}

// failed returns the remembered failure to start, if any.
func (s *shared[T]) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *shared[T]) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs > 0 || s.val == nil {
		return nil
	}
	v := s.val
	s.val = nil
	return s.stop(v)
}

var image = &shared[Image]{stop: func(img *Image) error { return os.RemoveAll(img.Dir) }}

// newImageDir creates the image's directory and its owner file in
// tempBase, with the engines' directories: where the sweep of leftovers
// looks for what a killed run left.
func newImageDir() (string, error) {
	dir, err := os.MkdirTemp(tempBase(), dirPrefix+"image-")
	if err != nil {
		return "", err
	}
	if err := writeOwner(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func buildSharedImage() (*Image, error) {
	dir, err := newImageDir()
	if err != nil {
		return nil, err
	}
	img, err := BuildImage(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return img, nil
}

// UseImage returns the test image, building it on first use; it is removed
// when the last test holding it has finished. A missing go command skips
// the test (see testenv.SkipOrFail, under env); a build failure fails it.
func UseImage(t testing.TB, env string) *Image {
	t.Helper()
	img, first, err := image.acquire(buildSharedImage)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			testenv.SkipOrFail(t, env, err.Error())
		}
		t.Fatalf("building the test image: %v", err)
	}
	t.Cleanup(func() {
		if err := image.release(); err != nil {
			t.Errorf("removing the test image: %v", err)
		}
	})
	if first {
		t.Logf("engine: built the test image (%s, %s) in %v", CLIPackage, ServicePackage, img.BuildTime.Round(time.Millisecond))
	}
	return img
}

var (
	dockerShared = &shared[Engine]{stop: (*Engine).Stop}
	podmanShared = &shared[Engine]{stop: (*Engine).Stop}
	sweptMu      sync.Mutex
	sweptLogged  bool
)

// UseDocker returns the private docker engine with the test image
// imported, starting it on first use. It skips t with the reason when
// docker cannot run here (ErrUnavailable), or fails t when
// RIGHTSIZE_REQUIRE_DOCKER=1 (or RIGHTSIZE_REQUIRE=1); any other failure to
// start fails t (see startFailed). Call it before t.Parallel: the engine is stopped,
// and everything it created removed, when the last test holding it has
// finished.
func UseDocker(t testing.TB) *Engine {
	t.Helper()
	return use(t, dockerShared, "docker", testenv.Docker, StartDocker)
}

// UsePodman is UseDocker for podman (required by RIGHTSIZE_REQUIRE_DOCKER=1
// too).
func UsePodman(t testing.TB) *Engine {
	t.Helper()
	return use(t, podmanShared, "podman", testenv.Podman, StartPodman)
}

func use(t testing.TB, s *shared[Engine], kind, env string, start func(context.Context, *Image) (*Engine, error)) *Engine {
	t.Helper()
	if err := Available(kind); err != nil {
		testenv.SkipOrFail(t, env, err.Error())
	}
	if err := s.failed(); err != nil {
		startFailed(t, kind, env, err)
	}
	// The image is released after the engine (cleanups run last in,
	// first out), so it outlives the engine that imported it.
	img := UseImage(t, env)
	e, first, err := s.acquire(func() (*Engine, error) {
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		return start(ctx, img)
	})
	if err != nil {
		startFailed(t, kind, env, err)
	}
	t.Cleanup(func() {
		if err := s.release(); err != nil {
			t.Errorf("stopping %s: %v", kind, err)
		}
	})
	if first {
		t.Logf("engine: %s %s started in %v, image imported in %v (%s)", kind, e.Version, e.StartTime.Round(time.Millisecond), e.ImportTime.Round(time.Millisecond), e.Dir)
		sweptMu.Lock()
		logSwept := !sweptLogged
		sweptLogged = true
		sweptMu.Unlock()
		if logSwept {
			for _, msg := range swept() {
				t.Logf("engine: removed a leftover of an earlier run: %s", msg)
			}
		}
	}
	return e
}

// startFailed ends t after the engine failed to start with err: it skips t
// (or fails it, see testenv.SkipOrFail) only when err says that the engine
// cannot run on this machine (ErrUnavailable); any other failure is the
// harness's or the engine's, and fails t, so that a broken harness is
// never mistaken for a missing engine.
func startFailed(t testing.TB, kind, env string, err error) {
	t.Helper()
	if errors.Is(err, ErrUnavailable) {
		testenv.SkipOrFail(t, env, err.Error())
	}
	t.Fatalf("starting %s: %v", kind, err)
}

// MustStart is Start for tests: it fails t when the container cannot be
// started and removes the container when t ends (t.Cleanup), logging its
// output if t failed.
func (e *Engine) MustStart(t testing.TB, spec RunSpec) *Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	c, err := e.Start(ctx, spec)
	if err != nil {
		t.Fatalf("starting a %s container: %v", e.Kind, err)
	}
	t.Cleanup(func() {
		if err := c.Remove(); err != nil {
			t.Errorf("removing container %s: %v", c.ID, err)
		}
		if t.Failed() {
			out, errOut := c.Output()
			t.Logf("%s container %s (%s)\nstdout:\n%s\nstderr:\n%s", e.Kind, c.Name, c.ID, out, errOut)
		}
	})
	return c
}
