package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile/ast"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/twmb/franz-go/pkg/sr"
)

// Schema references of produce's --value-schema FILE (and the key's):
//
//   - --value-refs JSON names schemas already registered, as the value.refs
//     property of Confluent's console producers does:
//     [{"name":"shop.Customer","subject":"customer","version":1}], the
//     version left out or -1 for the subject's latest;
//   - a name the schema uses that no --value-refs entry gives is looked for
//     in a file next to FILE and registered first, the way Confluent's
//     serializers register references (auto.register.schemas, with the
//     default reference subject name strategy, the reference name as the
//     subject). Protobuf: an import "x/y.proto" is the file x/y.proto
//     under FILE's directory, registered under subject x/y.proto (imports
//     of google/protobuf/ are built in, never references). JSON Schema: a
//     relative "$ref": "addr.json#/..." is the file addr.json under FILE's
//     directory, registered under subject addr.json (every file's $refs are
//     read relative to FILE's directory: a registered schema does not know
//     where its file was, so the name must be the same wherever it is
//     used). Avro: a
//     named type the schema uses without defining it is the .avsc file in
//     FILE's directory that defines it (a record, enum or fixed at its top
//     level), registered under the type's full name, shop.Customer (the
//     subject RecordNameStrategy would give it; Avro references carry the
//     full name as their name).
//
// Referenced files may reference others in turn; each is registered once,
// dependencies first, and a file already registered under its subject is
// looked up, not registered again.

// refFlag is one entry of --value-refs.
type refFlag struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version *int   `json:"version"`
}

// parseRefs reads --value-refs or --key-refs; -1 versions are resolved
// later.
func parseRefs(flag, text string) ([]sr.SchemaReference, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var in []refFlag
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if err = fmt.Errorf("got a JSON %s", te.Value); te.Field != "" {
				err = fmt.Errorf("field %s: got a JSON %s", te.Field, te.Value)
			}
		}
		return nil, usagef(`--%s: want a JSON array like [{"name":"x.proto","subject":"x.proto","version":1}]: %v`, flag, err)
	}
	var out []sr.SchemaReference
	seen := map[string]bool{}
	for i, r := range in {
		switch {
		case r.Name == "" || r.Subject == "":
			return nil, usagef("--%s: entry %d needs a name and a subject", flag, i)
		case seen[r.Name]:
			return nil, usagef("--%s: name %q given twice", flag, r.Name)
		case r.Version != nil && *r.Version != -1 && *r.Version <= 0:
			return nil, usagef("--%s: entry %d: version %d, want a positive number or -1 (latest)", flag, i, *r.Version)
		}
		seen[r.Name] = true
		v := -1
		if r.Version != nil {
			v = *r.Version
		}
		out = append(out, sr.SchemaReference{Name: r.Name, Subject: r.Subject, Version: v})
	}
	return out, nil
}

// refResolver registers the local files a schema file references.
type refResolver struct {
	ctx    context.Context
	cl     *sr.Client
	rf     *registryFlags
	flag   string // "value-schema" or "key-schema", for messages
	typ    sr.SchemaType
	root   string // the schema file's directory
	given  map[string]sr.SchemaReference
	done   map[string]sr.SchemaReference // local files registered, by reference name
	active map[string]bool               // files being resolved, to find cycles
	avro   map[string]string             // Avro full name → file defining it, built on first use
}

// schemaFromFile reads a schema file and resolves its references:
// given ones first (their latest versions looked up), then local files,
// registered as needed.
func schemaFromFile(ctx context.Context, cl *sr.Client, rf *registryFlags, side *sideFlags) (sr.Schema, error) {
	text, err := os.ReadFile(side.schema)
	if err != nil {
		return sr.Schema{}, fmt.Errorf("--%s-schema: %w", side.name, err)
	}
	main := filepath.Clean(side.schema)
	r := &refResolver{ctx: ctx, cl: cl, rf: rf, flag: side.name + "-schema", typ: srType(side.format),
		root: filepath.Dir(main), given: map[string]sr.SchemaReference{},
		done: map[string]sr.SchemaReference{}, active: map[string]bool{main: true}}
	var refs []sr.SchemaReference
	for _, g := range side.refs {
		if g.Version == -1 {
			ss, err := cl.SchemaByVersion(ctx, g.Subject, -1)
			if err != nil {
				return sr.Schema{}, fmt.Errorf("--%s-refs %s: subject %s: %w", side.name, g.Name, g.Subject, rf.err(err))
			}
			g.Version = ss.Version
		}
		r.given[g.Name] = g
		refs = append(refs, g)
	}
	local, err := r.references(string(text), side.schema)
	if err != nil {
		return sr.Schema{}, err
	}
	for _, l := range local {
		if _, ok := r.given[l.Name]; !ok {
			refs = append(refs, l)
		}
	}
	return sr.Schema{Schema: string(text), Type: r.typ, References: refs}, nil
}

// references returns the references of text, the schema of file,
// registering local files.
func (r *refResolver) references(text, file string) ([]sr.SchemaReference, error) {
	var refs []sr.SchemaReference
	for _, name := range r.uses(text) {
		if g, ok := r.given[name]; ok {
			refs = append(refs, g)
			continue
		}
		ref, ok, err := r.local(name, file)
		if err != nil {
			return nil, err
		}
		if ok {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// uses lists the names text refers to outside itself, in order of first
// use: Protobuf import paths, JSON $ref files, Avro full names.
func (r *refResolver) uses(text string) []string {
	switch r.typ {
	case sr.TypeProtobuf:
		return protoImports(text)
	case sr.TypeJSON:
		return jsonSchemaRefs(text)
	}
	return avroUses(text)
}

// local finds, registers and returns the local file that name refers to
// (ok false: nothing to register, e.g. a built-in Protobuf import); from is
// the file that uses it, for messages.
func (r *refResolver) local(name, from string) (sr.SchemaReference, bool, error) {
	if ref, ok := r.done[name]; ok {
		return ref, true, nil
	}
	var file, subject string
	switch r.typ {
	case sr.TypeProtobuf:
		file, subject = filepath.Join(r.root, filepath.FromSlash(name)), name
		if !fileExists(file) {
			if strings.HasPrefix(name, "google/protobuf/") {
				return sr.SchemaReference{}, false, nil
			}
			return sr.SchemaReference{}, false, fmt.Errorf("--%s %s: import %q: no file %s, and no --%s entry named %s",
				r.flag, from, name, file, strings.Replace(r.flag, "-schema", "-refs", 1), name)
		}
	case sr.TypeJSON:
		file, subject = filepath.Join(r.root, filepath.FromSlash(name)), name
		if !fileExists(file) {
			return sr.SchemaReference{}, false, fmt.Errorf("--%s %s: $ref %q: no file %s, and no --%s entry named %s",
				r.flag, from, name, file, strings.Replace(r.flag, "-schema", "-refs", 1), name)
		}
	default:
		if err := r.indexAvro(); err != nil {
			return sr.SchemaReference{}, false, err
		}
		var ok bool
		if file, ok = r.avro[name]; !ok {
			return sr.SchemaReference{}, false, fmt.Errorf("--%s %s: type %s is not defined there, in a .avsc file in %s, or by a --%s entry",
				r.flag, from, name, r.root, strings.Replace(r.flag, "-schema", "-refs", 1))
		}
		subject = name
	}
	if r.active[file] {
		return sr.SchemaReference{}, false, fmt.Errorf("--%s: %s references itself through its references", r.flag, file)
	}
	r.active[file] = true
	defer delete(r.active, file)
	text, err := os.ReadFile(file)
	if err != nil {
		return sr.SchemaReference{}, false, fmt.Errorf("--%s: reference %s: %w", r.flag, name, err)
	}
	refs, err := r.references(string(text), file)
	if err != nil {
		return sr.SchemaReference{}, false, err
	}
	ss, err := registerIfNew(r.ctx, r.cl, subject, sr.Schema{Schema: string(text), Type: r.typ, References: refs})
	if err != nil {
		return sr.SchemaReference{}, false, fmt.Errorf("--%s: reference %s (%s): subject %s: %w", r.flag, name, file, subject, r.rf.err(err))
	}
	ref := sr.SchemaReference{Name: name, Subject: subject, Version: ss.Version}
	r.done[name] = ref
	return ref, true, nil
}

// registerIfNew looks s up under subject and registers it there if it is
// not yet.
func registerIfNew(ctx context.Context, cl *sr.Client, subject string, s sr.Schema) (sr.SubjectSchema, error) {
	ss, err := cl.LookupSchema(ctx, subject, s)
	if code := srCode(err); code == 40401 || code == 40403 {
		ss, err = cl.CreateSchema(ctx, subject, s)
	}
	return ss, err
}

func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// protoImports lists the imports of a .proto file. A file that does not
// parse has none here; the registry reports its syntax error.
func protoImports(text string) []string {
	node, err := parser.Parse("schema.proto", strings.NewReader(text), reporter.NewHandler(nil))
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range node.Decls {
		if imp, ok := d.(*ast.ImportNode); ok {
			out = append(out, imp.Name.AsString())
		}
	}
	return out
}

// jsonSchemaRefs lists the files the $refs of a JSON schema name. Fragments
// (#...) and absolute URLs are not files.
func jsonSchemaRefs(text string) []string {
	var doc any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil // the registry reports it
	}
	var out []string
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				ref, _, _ = strings.Cut(ref, "#")
				if ref != "" && !strings.Contains(ref, ":") && !strings.HasPrefix(ref, "/") && !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return out
}

// avroPrimitives are the Avro type names that are not named types.
var avroPrimitives = map[string]bool{"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true}

// avroFullName is the full name of a type named name in namespace ns, and
// the namespace its own nested names resolve in.
func avroFullName(name, ns string) (full, inner string) {
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name, name[:i]
	}
	if ns == "" {
		return name, ""
	}
	return ns + "." + name, ns
}

// avroUses lists the full names an Avro schema uses but does not define.
func avroUses(text string) []string {
	var doc any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil // the registry reports it
	}
	defined := map[string]bool{}
	var used []string
	var walk func(v any, ns string)
	walk = func(v any, ns string) {
		switch v := v.(type) {
		case string:
			if !avroPrimitives[v] {
				full, _ := avroFullName(v, ns)
				used = append(used, full)
			}
		case []any:
			for _, e := range v {
				walk(e, ns)
			}
		case map[string]any:
			t, _ := v["type"].(string)
			switch t {
			case "record", "error", "enum", "fixed":
				name, _ := v["name"].(string)
				inner := ns
				if n, ok := v["namespace"].(string); ok && !strings.Contains(name, ".") {
					inner = n
				}
				full, inner := avroFullName(name, inner)
				defined[full] = true
				if t == "record" || t == "error" {
					fields, _ := v["fields"].([]any)
					for _, f := range fields {
						if fm, ok := f.(map[string]any); ok {
							walk(fm["type"], inner)
						}
					}
				}
			case "array":
				walk(v["items"], ns)
			case "map":
				walk(v["values"], ns)
			default:
				walk(v["type"], ns)
			}
		}
	}
	walk(doc, "")
	var out []string
	seen := map[string]bool{}
	for _, u := range used {
		if !defined[u] && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// indexAvro maps the named types defined at the top of each .avsc file in
// the main file's directory to their files.
func (r *refResolver) indexAvro() error {
	if r.avro != nil {
		return nil
	}
	r.avro = map[string]string{}
	files, err := filepath.Glob(filepath.Join(r.root, "*.avsc"))
	if err != nil {
		return err
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--%s: %w", r.flag, err)
		}
		var top struct {
			Type      any    `json:"type"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		}
		if json.NewDecoder(bytes.NewReader(text)).Decode(&top) != nil || top.Name == "" {
			continue
		}
		switch top.Type {
		case "record", "error", "enum", "fixed":
		default:
			continue
		}
		full, _ := avroFullName(top.Name, top.Namespace)
		if other, ok := r.avro[full]; ok {
			return fmt.Errorf("--%s: type %s is defined in both %s and %s", r.flag, full, other, f)
		}
		r.avro[full] = f
	}
	return nil
}
