package schemaregistry

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonFormat parses and validates JSON Schemas (any draft, draft-07 when
// $schema is absent, as the reference) with santhosh-tekuri/jsonschema. No
// library checks compatibility between two JSON Schemas, so those rules are
// here (jsonCmp): a reader must accept every document the writer accepts.
// They give the reference's verdict on every case of its JSON Schema diff
// test resources (draft-07 and combined-schema files).
type jsonFormat struct{}

const jsonBase = "mem://schemas/"

func (jsonFormat) parse(text string, deps []dep, normalize bool) (any, string, error) {
	stored, err := jsonSyntax(text)
	if err != nil {
		return nil, "", err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(stored))
	if err != nil {
		return nil, "", err
	}
	c := jsonschema.NewCompiler()
	// Without $schema, draft-07, as the reference (its default spec
	// version) reads such schemas.
	c.DefaultDraft(jsonschema.Draft7)
	for _, d := range deps {
		ddoc, err := jsonschema.UnmarshalJSON(strings.NewReader(d.text))
		if err != nil {
			return nil, "", fmt.Errorf("reference %q: %w", d.name, err)
		}
		if err := c.AddResource(jsonBase+d.name, ddoc); err != nil {
			return nil, "", fmt.Errorf("reference %q: %w", d.name, err)
		}
	}
	const main = jsonBase + "__subject__.json"
	if err := c.AddResource(main, doc); err != nil {
		return nil, "", err
	}
	if _, err := c.Compile(main); err != nil {
		return nil, "", err
	}
	if normalize {
		// The reference's JSON Schema normalization: object keys sorted,
		// at every depth.
		v, err := decodeJSON(stored)
		if err != nil {
			return nil, "", err
		}
		stored = encodeJSON(v)
	}
	return doc, stored, nil
}

func (jsonFormat) incompatible(reader, writer any) []string {
	c := &jsonCmp{rRoot: reader, wRoot: writer, seen: map[[2]string]bool{}}
	c.compat("#", reader, writer)
	return c.out
}

// jsonCmp compares a reader schema with a writer schema: it lists why
// some document valid under the writer can be invalid under the reader.
// The rules follow the reference's JSON Schema diff (its test cases are
// the table in compat_test.go): types may widen, enums grow, bounds relax,
// a property or item unknown to one side is compared with what that side
// allows in its place (patternProperties, additionalProperties or
// additionalItems, true when absent), combined schemas are compared
// branch by branch, and local $refs are followed.
type jsonCmp struct {
	rRoot, wRoot any
	seen         map[[2]string]bool // $ref pairs being compared
	out          []string
}

func (c *jsonCmp) add(path, kind, format string, a ...any) {
	c.out = append(c.out, fmt.Sprintf("{errorType:'%s', description:'at %s: %s'}", kind, path, fmt.Sprintf(format, a...)))
}

// deref follows a local $ref ("#/..."), returning the target and the ref.
func deref(root, s any) (any, string) {
	m, ok := s.(map[string]any)
	if !ok {
		return s, ""
	}
	ref, ok := m["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#") {
		return s, ""
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := cur.(type) {
		case map[string]any:
			cur = t[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return s, ""
			}
			cur = t[i]
		default:
			return s, ""
		}
	}
	if cur == nil {
		return s, ""
	}
	return cur, ref
}

func (c *jsonCmp) compat(path string, reader, writer any) {
	reader, rref := deref(c.rRoot, reader)
	writer, wref := deref(c.wRoot, writer)
	if rref != "" || wref != "" {
		key := [2]string{rref + "\x00" + path, wref}
		if c.seen[key] {
			return // a recursive schema: already being compared
		}
		c.seen[key] = true
	}
	if writer == false {
		return // the writer accepts nothing
	}
	r, rok := reader.(map[string]any)
	w, wok := writer.(map[string]any)
	if reader == true || (rok && len(r) == 0) {
		return // the reader accepts anything
	}
	if reader == false {
		c.add(path, "SCHEMA_NARROWED", "the reader accepts nothing")
		return
	}
	if !rok || !wok {
		if writer == true || (wok && len(w) == 0) {
			c.add(path, "SCHEMA_NARROWED", "the writer accepted anything")
		}
		return
	}
	if ref, ok := r["$ref"]; ok {
		// A reference to another schema (another subject): unchanged
		// or not.
		if w["$ref"] != ref {
			c.add(path, "REFERENCE_CHANGED", "$ref %v replaces %v", ref, w["$ref"])
		}
		return
	}
	if c.combined(path, r, w) {
		return
	}
	if rn, ok := r["not"]; ok {
		if wn, ok := w["not"]; !ok {
			c.add(path, "NOT_TYPE_ADDED", "not added")
		} else {
			// What the writer excluded must cover what the reader
			// excludes.
			sub := &jsonCmp{rRoot: c.wRoot, wRoot: c.rRoot, seen: c.seen}
			if sub.compat(path+"/not", wn, rn); len(sub.out) > 0 {
				c.add(path, "NOT_TYPE_EXTENDED", "not now excludes more")
			}
		}
	}
	rt, wt := jsonTypes(r), jsonTypes(w)
	if rt != nil {
		if wt == nil {
			c.add(path, "TYPE_NARROWED", "type %v now required", rt)
		} else {
			for _, t := range wt {
				if !slices.Contains(rt, t) && !(t == "integer" && slices.Contains(rt, "number")) {
					c.add(path, "TYPE_CHANGED", "type %s no longer allowed (now %v)", t, rt)
				}
			}
		}
	}
	re, rHas := enumOf(r)
	we, wHas := enumOf(w)
	if rHas {
		if !wHas {
			c.add(path, "ENUM_ARRAY_NARROWED", "enum added")
		}
		for _, v := range we {
			if !slices.ContainsFunc(re, func(x any) bool { return encodeJSON(x) == encodeJSON(v) }) {
				c.add(path, "ENUM_ARRAY_NARROWED", "enum value %v removed", encodeJSON(v))
			}
		}
	}
	for _, k := range []string{"maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"} {
		if rv, ok := jsonNum(r[k]); ok {
			if wv, ok := jsonNum(w[k]); !ok || wv > rv {
				c.add(path, strings.ToUpper(k)+"_DECREASED", "%s now %v", k, rv)
			}
		}
	}
	for _, k := range []string{"minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum"} {
		if rv, ok := jsonNum(r[k]); ok {
			if wv, ok := jsonNum(w[k]); !ok || wv < rv {
				c.add(path, strings.ToUpper(k)+"_INCREASED", "%s now %v", k, rv)
			}
		}
	}
	if rp, ok := r["pattern"]; ok && rp != w["pattern"] {
		c.add(path, "PATTERN_CHANGED", "pattern now %v", rp)
	}
	if rm, ok := jsonNum(r["multipleOf"]); ok {
		wm, ok := jsonNum(w["multipleOf"])
		if q := wm / rm; !ok || rm == 0 || q != math.Trunc(q) {
			c.add(path, "MULTIPLE_OF_CHANGED", "multipleOf now %v", rm)
		}
	}
	c.object(path, r, w)
	c.array(path, r, w)
}

// combined compares allOf, anyOf and oneOf by what they accept: allOf
// the documents every part accepts, anyOf and oneOf those some branch
// accepts (oneOf's exclusivity is not checked, as the reference does not).
// A reader part or branch "covers" a writer one when it accepts all it
// does. It reports whether it has compared everything (when only the
// writer combines).
func (c *jsonCmp) combined(path string, r, w map[string]any) bool {
	rk, rl := combiner(r)
	wk, wl := combiner(w)
	if rk == "" && wk == "" {
		return false
	}
	wrest := w
	if wk != "" {
		wrest = without(w, wk)
		wl = slices.Clone(wl) // branches merged with the rest, not in place
		for i, b := range wl {
			wl[i] = merged(wrest, b)
		}
	}
	if rk == "" {
		// The writer combines, the reader does not.
		if wk == "allOf" {
			for _, b := range append([]any{wrest}, wl...) {
				if c.quiet(path, r, b) {
					return true
				}
			}
			c.add(path, "PRODUCT_TYPE_NARROWED", "no part of allOf is accepted whole")
			return true
		}
		for i, b := range wl {
			c.compat(fmt.Sprintf("%s/%s/%d", path, wk, i), r, b)
		}
		return true
	}
	// covers tells whether the reader part rb accepts every document the
	// writer accepts.
	covers := func(rb any) bool {
		switch wk {
		case "":
			return c.quiet(path, rb, w)
		case "allOf":
			return slices.ContainsFunc(append([]any{wrest}, wl...), func(wb any) bool { return c.quiet(path, rb, wb) })
		}
		for _, wb := range wl {
			if !c.quiet(path, rb, wb) {
				return false
			}
		}
		return true
	}
	if rk == "allOf" {
		for i, rb := range rl {
			if !covers(rb) {
				c.add(fmt.Sprintf("%s/allOf/%d", path, i), "PRODUCT_TYPE_EXTENDED", "a part of allOf is new or narrower")
			}
		}
		return false
	}
	// The reader is a union: each writer branch (or the writer itself)
	// must be accepted by some reader branch.
	pieces := []any{w}
	if wk == "anyOf" || wk == "oneOf" {
		pieces = wl
	}
	for i, wb := range pieces {
		ok := slices.ContainsFunc(rl, func(rb any) bool {
			if wk == "allOf" {
				return covers(rb)
			}
			return c.quiet(path, rb, wb)
		})
		if !ok {
			c.add(fmt.Sprintf("%s/%s/%d", path, rk, i), "SUM_TYPE_NARROWED", "a branch is no longer accepted")
		}
	}
	return false
}

// quiet reports whether reader accepts everything writer does, without
// reporting.
func (c *jsonCmp) quiet(path string, reader, writer any) bool {
	sub := &jsonCmp{rRoot: c.rRoot, wRoot: c.wRoot, seen: maps.Clone(c.seen)}
	sub.compat(path, reader, writer)
	return len(sub.out) == 0
}

func combiner(s map[string]any) (string, []any) {
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if l, ok := s[k].([]any); ok {
			return k, l
		}
	}
	return "", nil
}

func without(s map[string]any, key string) map[string]any {
	out := maps.Clone(s)
	delete(out, key)
	return out
}

// merged is base with the keywords of branch b added.
func merged(base map[string]any, b any) any {
	bm, ok := b.(map[string]any)
	if !ok {
		if len(base) == 0 {
			return b
		}
		return base
	}
	out := maps.Clone(base)
	maps.Copy(out, bm)
	return out
}

// object compares the object keywords.
func (c *jsonCmp) object(path string, r, w map[string]any) {
	rp, _ := r["properties"].(map[string]any)
	wp, _ := w["properties"].(map[string]any)
	for _, name := range sortedKeys(rp) {
		// Old documents may carry name with whatever the writer
		// allowed in its place.
		c.compat(path+"/properties/"+name, rp[name], propertySchema(w, name))
	}
	for _, name := range sortedKeys(wp) {
		if _, ok := rp[name]; !ok {
			c.compat(path+"/properties/"+name, propertySchema(r, name), wp[name])
		}
	}
	if _, ok := r["additionalProperties"]; ok {
		c.compat(path+"/additionalProperties", r["additionalProperties"], orTrue(w, "additionalProperties"))
	}
	// A property the reader now requires, among those it defines.
	wreq := stringsOf(w["required"])
	for _, name := range stringsOf(r["required"]) {
		if _, defined := rp[name]; defined && !slices.Contains(wreq, name) {
			c.add(path, "REQUIRED_PROPERTY_ADDED", "property %s now required", name)
		}
	}
	rd, _ := r["dependencies"].(map[string]any)
	wd, _ := w["dependencies"].(map[string]any)
	for _, name := range sortedKeys(rd) {
		wv, ok := wd[name]
		switch rv := rd[name].(type) {
		case []any:
			wa, _ := wv.([]any)
			for _, x := range rv {
				if !slices.ContainsFunc(wa, func(y any) bool { return encodeJSON(x) == encodeJSON(y) }) {
					c.add(path+"/dependencies/"+name, "DEPENDENCY_ARRAY_EXTENDED", "%s now needs %v", name, x)
				}
			}
		default:
			if !ok {
				c.add(path+"/dependencies/"+name, "DEPENDENCY_SCHEMA_ADDED", "dependency on %s added", name)
			} else {
				c.compat(path+"/dependencies/"+name, rv, wv)
			}
		}
	}
}

// propertySchema is what s allows for property name: its own schema, a
// matching patternProperties schema, additionalProperties, or anything.
func propertySchema(s map[string]any, name string) any {
	if p, ok := s["properties"].(map[string]any); ok {
		if v, ok := p[name]; ok {
			return v
		}
	}
	if pp, ok := s["patternProperties"].(map[string]any); ok {
		for _, pat := range sortedKeys(pp) {
			if re, err := regexp.Compile(pat); err == nil && re.MatchString(name) {
				return pp[pat]
			}
		}
	}
	return orTrue(s, "additionalProperties")
}

func orTrue(s map[string]any, key string) any {
	if v, ok := s[key]; ok {
		return v
	}
	return true
}

// array compares items (one schema or a list) and additionalItems.
func (c *jsonCmp) array(path string, r, w map[string]any) {
	ri, rHas := r["items"]
	if _, ok := r["additionalItems"]; !rHas && !ok {
		return
	}
	rl, rTuple := ri.([]any)
	wl, wTuple := w["items"].([]any)
	itemAt := func(s map[string]any, list []any, tuple bool, i int) any {
		switch {
		case tuple && i < len(list):
			return list[i]
		case tuple:
			return orTrue(s, "additionalItems")
		}
		return orTrue(s, "items")
	}
	n := max(len(rl), len(wl))
	for i := range n {
		c.compat(fmt.Sprintf("%s/items/%d", path, i), itemAt(r, rl, rTuple, i), itemAt(w, wl, wTuple, i))
	}
	// Past the listed items (or all items, when neither lists them).
	rest := func(s map[string]any, tuple bool) any {
		if tuple {
			return orTrue(s, "additionalItems")
		}
		return orTrue(s, "items")
	}
	key := "/items"
	if rTuple || wTuple {
		key = "/additionalItems"
	}
	c.compat(path+key, rest(r, rTuple), rest(w, wTuple))
	if _, ok := r["additionalItems"]; ok && !rTuple && !wTuple {
		// Without a list of items additionalItems means nothing to a
		// validator, but the reference still compares it.
		c.compat(path+"/additionalItems", r["additionalItems"], orTrue(w, "additionalItems"))
	}
}

// enumOf returns the values s allows by enum or const.
func enumOf(s map[string]any) ([]any, bool) {
	if e, ok := s["enum"].([]any); ok {
		return e, true
	}
	if v, ok := s["const"]; ok {
		return []any{v}, true
	}
	return nil, false
}

func jsonNum(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func acceptsAll(s any) bool {
	m, ok := s.(map[string]any)
	return s == true || ok && len(m) == 0
}

func jsonTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		return stringsOf(t)
	}
	return nil
}

func stringsOf(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
