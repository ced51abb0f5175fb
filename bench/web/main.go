// Command web is the start-up experiment's second program: a service that
// already imports net/http, encoding/json and log/slog, as most do, so the
// blank import's cost is measured beside the inits a real service pays
// anyway. It starts, touches each package, and exits (build tags rightsize,
// automaxprocs, automemlimit add a library's blank import, as in tiny).
package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	_ = json.NewEncoder(io.Discard).Encode(map[string]int{"ok": 1})
	slog.New(slog.NewTextHandler(io.Discard, nil)).Info("start")
	_ = mux
}
