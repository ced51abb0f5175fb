// Package depsinit is the start-up experiment's "deps" variant: it imports
// every package the library's root package depends on outside the module
// itself (go list -deps github.com/rightsize/rightsize), and does nothing:
// what a program pays for the import graph alone — their inits and a
// larger binary. TestSameAsLibrary keeps the list equal to the library's.
package depsinit

import (
	_ "bytes"
	_ "cmp"
	_ "context"
	_ "encoding"
	_ "encoding/base64"
	_ "encoding/binary"
	_ "encoding/json"
	_ "errors"
	_ "fmt"
	_ "golang.org/x/sys/unix"
	_ "io"
	_ "io/fs"
	_ "iter"
	_ "log"
	_ "log/slog"
	_ "math"
	_ "math/bits"
	_ "os"
	_ "os/signal"
	_ "path"
	_ "path/filepath"
	_ "reflect"
	_ "runtime/debug"
	_ "runtime/metrics"
	_ "slices"
	_ "sort"
	_ "strconv"
	_ "strings"
	_ "sync"
	_ "sync/atomic"
	_ "syscall"
	_ "time"
	_ "unicode"
	_ "unicode/utf16"
	_ "unicode/utf8"
)
