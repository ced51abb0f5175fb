package rightsizeexpvar_test

import (
	"log"

	"github.com/rightsize/rightsize/rightsizeexpvar"
)

// A service that already serves http.DefaultServeMux (where expvar
// registers /debug/vars) opts in with one call; the value is taken afresh
// on every request:
//
//	curl -s localhost:8080/debug/vars | jq .rightsize
func ExamplePublish() {
	if err := rightsizeexpvar.Publish(rightsizeexpvar.DefaultName); err != nil {
		log.Print(err)
	}
	// http.ListenAndServe(":8080", nil)
}
