package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// A small JSON Schema (draft 2020-12) validator for the subset schema.json
// uses: type (a name or a list of names), properties, required,
// additionalProperties false, items, enum, const, minimum, format
// date-time, $ref to #/$defs/..., and the annotations $schema, $id, title,
// description. Any other keyword is an error, so that the schema cannot
// claim a check this validator does not make.

var (
	schemaOnce sync.Once
	schemaDoc  map[string]any
	schemaErr  error
)

// loadSchema reads schema.json once.
func loadSchema(t testing.TB) map[string]any {
	t.Helper()
	schemaOnce.Do(func() {
		data, err := os.ReadFile("schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		v, err := decodeJSON(data)
		if err != nil {
			schemaErr = fmt.Errorf("schema.json: %v", err)
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			schemaErr = fmt.Errorf("schema.json is not an object")
			return
		}
		schemaDoc = m
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schemaDoc
}

// decodeJSON decodes one JSON value with numbers kept exact, and refuses
// trailing data.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// validateJSON validates one JSON document against schema.json and returns
// the violations, each with its location.
func validateJSON(t testing.TB, data []byte) []string {
	t.Helper()
	root := loadSchema(t)
	v, err := decodeJSON(data)
	if err != nil {
		return []string{"invalid JSON: " + err.Error()}
	}
	var errs []string
	validate(root, root, v, "$", &errs)
	return errs
}

var annotations = map[string]bool{"$schema": true, "$id": true, "title": true, "description": true, "$defs": true}

func validate(root, s map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, at+": "+fmt.Sprintf(format, args...))
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw := s[k]
		switch k {
		case "$ref":
			ref, _ := kw.(string)
			name, ok := strings.CutPrefix(ref, "#/$defs/")
			defs, _ := root["$defs"].(map[string]any)
			sub, _ := defs[name].(map[string]any)
			if !ok || sub == nil {
				fail("schema: unresolvable $ref %q", ref)
				continue
			}
			validate(root, sub, v, at, errs)
		case "type":
			var names []string
			switch x := kw.(type) {
			case string:
				names = []string{x}
			case []any:
				for _, n := range x {
					names = append(names, n.(string))
				}
			}
			ok := false
			for _, n := range names {
				ok = ok || hasType(v, n)
			}
			if !ok {
				fail("%s is not of type %v", brief(v), names)
			}
		case "properties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props := kw.(map[string]any)
			for name, sub := range props {
				if pv, ok := obj[name]; ok {
					validate(root, sub.(map[string]any), pv, at+"."+name, errs)
				}
			}
		case "required":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, name := range kw.([]any) {
				if _, ok := obj[name.(string)]; !ok {
					fail("required property %q is missing", name)
				}
			}
		case "additionalProperties":
			if b, ok := kw.(bool); !ok || b {
				fail("schema: only additionalProperties false is supported")
				continue
			}
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for name := range obj {
				if _, ok := props[name]; !ok {
					fail("property %q is not allowed", name)
				}
			}
		case "items":
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			for i, item := range arr {
				validate(root, kw.(map[string]any), item, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		case "enum":
			ok := false
			for _, e := range kw.([]any) {
				ok = ok || jsonEqual(e, v)
			}
			if !ok {
				fail("%s is not one of %v", brief(v), kw)
			}
		case "const":
			if !jsonEqual(kw, v) {
				fail("%s is not %v", brief(v), kw)
			}
		case "minimum":
			n, ok := v.(json.Number)
			if !ok {
				continue
			}
			if num(n).Cmp(num(kw.(json.Number))) < 0 {
				fail("%s is below the minimum %s", n, kw)
			}
		case "format":
			str, ok := v.(string)
			if !ok {
				continue
			}
			if kw != "date-time" {
				fail("schema: format %q is not supported", kw)
			} else if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time: %v", str, err)
			}
		default:
			if !annotations[k] {
				fail("schema: keyword %q is not supported by this validator", k)
			}
		}
	}
}

func hasType(v any, name string) bool {
	switch name {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		return ok && num(n).IsInt()
	}
	return false
}

func num(n json.Number) *big.Float {
	f, _, err := big.ParseFloat(string(n), 10, 256, big.ToNearestEven)
	if err != nil {
		return big.NewFloat(0)
	}
	return f
}

func jsonEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok || bok {
		return aok && bok && num(an).Cmp(num(bn)) == 0
	}
	return reflect.DeepEqual(a, b)
}

func brief(v any) string {
	data, _ := json.Marshal(v)
	if len(data) > 60 {
		return string(data[:60]) + "..."
	}
	return string(data)
}

// TestSchemaFile checks schema.json itself and that the validator catches
// what it must: a document that breaks each kind of rule is refused.
func TestSchemaFile(t *testing.T) {
	s := loadSchema(t)
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	// The floor in the schema is the library's.
	floor := s["properties"].(map[string]any)["go"].(map[string]any)["properties"].(map[string]any)["recommendedGOMEMLIMIT"].(map[string]any)["minimum"]
	if fmt.Sprint(floor) != fmt.Sprint(runtimeinfo.MinGOMEMLIMIT) {
		t.Errorf("schema.json: recommendedGOMEMLIMIT minimum %v, runtimeinfo.MinGOMEMLIMIT is %d", floor, runtimeinfo.MinGOMEMLIMIT)
	}
	good := []byte(runOK(t, "--root", "testdata/trees/k8s-v2-guaranteed", "--json"))
	if errs := validateJSON(t, good); len(errs) > 0 {
		t.Fatalf("a golden tree's output is invalid: %q", errs)
	}
	var doc map[string]any
	if err := json.Unmarshal(good, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(d map[string]any)
		want   string
	}{
		{"missing", func(d map[string]any) { delete(d["cpu"].(map[string]any), "limit") }, `required property "limit"`},
		{"extra", func(d map[string]any) { d["cpu"].(map[string]any)["bogus"] = 1 }, `property "bogus" is not allowed`},
		{"type", func(d map[string]any) { d["cpu"].(map[string]any)["limit"] = "2" }, `is not of type [number null]`},
		{"integer", func(d map[string]any) { d["pids"].(map[string]any)["limit"] = 1.5 }, `is not of type [integer null]`},
		{"enum", func(d map[string]any) { d["cgroup"].(map[string]any)["layout"] = "v3" }, `is not one of`},
		{"const", func(d map[string]any) { d["schemaVersion"] = 2 }, `is not 1`},
		{"minimum", func(d map[string]any) { d["go"].(map[string]any)["recommendedGOMEMLIMIT"] = 1024 }, `below the minimum`},
		{"items", func(d map[string]any) { d["unknown"] = []any{"cpu.bogus"} }, `$.unknown[0]`},
		{"ref", func(d map[string]any) {
			d["cgroup"].(map[string]any)["cpu"] = map[string]any{"version": 3, "path": "/"}
		}, `$.cgroup.cpu.version`},
		{"date-time", func(d map[string]any) { d["time"] = "yesterday" }, `is not a date-time`},
	} {
		var d map[string]any
		json.Unmarshal(good, &d)
		tt.change(d)
		data, _ := json.Marshal(d)
		errs := validateJSON(t, data)
		if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
			t.Errorf("%s: violations %q, want one with %q", tt.name, errs, tt.want)
		}
	}
}
