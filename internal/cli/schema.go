package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/sr"
)

// samsa schema: a client of a Confluent-compatible Schema Registry (samsa's
// own, served by `samsa server` and `samsa schema-registry`, or Confluent's)
// over its REST API, through franz-go's sr client.

func init() { commands = append(commands, newSchemaCmd) }

// defaultRegistry is used when neither --registry nor SCHEMA_REGISTRY_URL is set.
const defaultRegistry = "http://127.0.0.1:8081"

// registryFlags are the connection flags of every schema subcommand.
type registryFlags struct {
	url     string
	timeout time.Duration
}

func (f *registryFlags) register(fs *pflag.FlagSet) {
	def := defaultRegistry
	if env := strings.TrimSpace(os.Getenv("SCHEMA_REGISTRY_URL")); env != "" {
		def = env
	}
	fs.StringVar(&f.url, "registry", def, "Schema Registry URL (env SCHEMA_REGISTRY_URL)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long one request to the registry may take")
}

func (f *registryFlags) client() (*sr.Client, error) {
	u, err := url.Parse(f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--registry %q: want an http:// or https:// URL", f.url)
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %v", f.timeout)
	}
	return sr.NewClient(sr.URLs(strings.TrimRight(f.url, "/")),
		sr.HTTPClient(&http.Client{Timeout: f.timeout}), sr.UserAgent("samsa-cli"))
}

// err turns an sr client error into one line: the registry's own message
// and error code, or which URL could not be reached.
func (f *registryFlags) err(err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		msg := strings.TrimSuffix(oneLine(re.Message), ".")
		if msg == "" {
			msg = oneLine(string(re.Raw))
		}
		if msg == "" {
			msg = http.StatusText(re.StatusCode)
		}
		if re.ErrorCode != 0 {
			return fmt.Errorf("%s (%d)", msg, re.ErrorCode)
		}
		return fmt.Errorf("%s (HTTP %d)", msg, re.StatusCode)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no schema registry at %s (connection refused); start one with 'samsa server' or 'samsa schema-registry', or point --registry at yours", f.url)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("schema registry at %s did not answer within --timeout %v", f.url, f.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("schema registry at %s: %v", f.url, oneLine(ue.Err.Error()))
	}
	return errors.New(oneLine(err.Error()))
}

// srCode is the registry error code of err, 0 if it has none.
func srCode(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return 0
}

func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "List, get, register, check and delete schemas in a Schema Registry",
		Long: `Work with a Confluent-compatible Schema Registry over its REST API: the one
samsa server runs on http://127.0.0.1:8081, samsa schema-registry, or
Confluent's. Every subcommand takes --registry URL (default from the
environment variable SCHEMA_REGISTRY_URL, else ` + defaultRegistry + `).

Registry errors are printed as the registry's message and error code, e.g.
"samsa: Subject 'x' not found (40401)".`,
		Example: `  samsa schema register orders-value --file order.avsc
  samsa schema list
  samsa schema get orders-value
  samsa schema check orders-value --file order-v2.avsc
  samsa schema config orders-value --set FULL
  samsa schema delete orders-value --version 1`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newSchemaListCmd(), newSchemaGetCmd(), newSchemaRegisterCmd(),
		newSchemaCheckCmd(), newSchemaDeleteCmd(), newSchemaConfigCmd())
	return cmd
}

// subjectSummary is one subject in `schema list --format json`.
type subjectSummary struct {
	Subject string `json:"subject"`
	Version int    `json:"version,omitempty"`
	ID      int    `json:"id,omitempty"`
	Type    string `json:"schemaType,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

func newSchemaListCmd() *cobra.Command {
	var (
		rf      registryFlags
		deleted bool
		prefix  string
		format  string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List subjects with their latest version",
		Long: `List subjects, sorted, with the version, id and type of their latest
version. --deleted includes soft-deleted subjects and versions (a subject
whose versions are all soft-deleted is marked "deleted"). --format json
prints one JSON array of {"subject","version","id","schemaType","deleted"}.`,
		Example: `  samsa schema list
  samsa schema list --prefix orders-
  samsa schema list --deleted
  samsa schema list -o json | jq -r '.[].subject'`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			params := []sr.Param{sr.SubjectPrefix(prefix)}
			if deleted {
				params = append(params, sr.ShowDeleted)
			}
			subjects, err := cl.Subjects(sr.WithParams(ctx, params...))
			if err != nil {
				return rf.err(err)
			}
			list := make([]subjectSummary, 0, len(subjects))
			for _, s := range subjects {
				sum := subjectSummary{Subject: s}
				ss, err := cl.SchemaByVersion(ctx, s, -1)
				if err != nil && deleted {
					sum.Deleted = true
					ss, err = cl.SchemaByVersion(sr.WithParams(ctx, sr.ShowDeleted), s, -1)
				}
				if err != nil {
					return rf.err(err)
				}
				sum.Version, sum.ID, sum.Type = ss.Version, ss.ID, ss.Type.String()
				list = append(list, sum)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, list)
			}
			if len(list) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBJECT\tVERSION\tID\tTYPE")
			for _, s := range list {
				name := s.Subject
				if s.Deleted {
					name += " (deleted)"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", name, s.Version, s.ID, s.Type)
			}
			return tw.Flush()
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&deleted, "deleted", false, "include soft-deleted subjects and versions")
	fs.StringVar(&prefix, "prefix", "", "only subjects whose name starts with this")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}

// parseVersion reads a --version value: a positive number or "latest" (-1).
func parseVersion(v string) (int, error) {
	if strings.EqualFold(v, "latest") || v == "-1" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, usagef("--version %q: want a positive number or latest", v)
	}
	return n, nil
}

// prettySchema is the schema text for people: indented JSON for Avro and
// JSON Schema, the text itself for Protobuf; it ends in a newline.
func prettySchema(s sr.Schema) string {
	text := s.Schema
	if s.Type != sr.TypeProtobuf {
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(text), "", "  ") == nil {
			text = buf.String()
		}
	}
	return strings.TrimRight(text, "\n") + "\n"
}

// schemaInfo is `schema get --format json`: the registry's own JSON for a
// version (subject, version, id, schemaType, references, schema), and for
// --id the subject/version pairs that use the schema.
type schemaInfo struct {
	Subject    string               `json:"subject,omitempty"`
	Version    int                  `json:"version,omitempty"`
	ID         int                  `json:"id"`
	Type       string               `json:"schemaType"`
	References []sr.SchemaReference `json:"references,omitempty"`
	Schema     string               `json:"schema"`
	UsedBy     []sr.SubjectVersion  `json:"usedBy,omitempty"`
}

func newSchemaGetCmd() *cobra.Command {
	var (
		rf         registryFlags
		version    string
		id         int
		schemaOnly bool
		deleted    bool
		format     string
	)
	cmd := &cobra.Command{
		Use:   "get SUBJECT [--version N|latest] | --id ID",
		Short: "Print a schema and its metadata",
		Long: `Print one schema: a version of SUBJECT (the latest unless --version), or
the schema with --id and the subject versions that use it. Text output is
the metadata (subject, version, id, type, references) then the schema,
indented for Avro and JSON Schema, as written for Protobuf. --schema-only
prints just the schema, for piping. --format json prints the registry's
JSON for the version (with "usedBy" for --id).`,
		Example: `  samsa schema get orders-value
  samsa schema get orders-value --version 2
  samsa schema get --id 7
  samsa schema get orders-value --schema-only > order.avsc
  samsa schema get orders-value -o json | jq -r .schema`,
		Args: argsBetween(0, 1, "SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			byID := cmd.Flags().Changed("id")
			switch {
			case byID && len(args) == 1:
				return usagef("give SUBJECT or --id, not both")
			case byID && cmd.Flags().Changed("version"):
				return usagef("--version goes with SUBJECT, not --id")
			case byID && id <= 0:
				return usagef("--id must be positive, got %d", id)
			case !byID && len(args) == 0:
				return usagef("missing SUBJECT or --id (see '%s --help')", cmd.CommandPath())
			case schemaOnly && format == "json":
				return usagef("--schema-only prints the schema alone; it does not go with --format json")
			}
			ver, err := parseVersion(version)
			if err != nil {
				return err
			}
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if deleted {
				ctx = sr.WithParams(ctx, sr.ShowDeleted)
			}
			var info schemaInfo
			var s sr.Schema
			if byID {
				if s, err = cl.SchemaByID(ctx, id); err != nil {
					return rf.err(err)
				}
				if info.UsedBy, err = cl.SchemaVersionsByID(ctx, id); err != nil {
					return rf.err(err)
				}
				info.ID = id
			} else {
				ss, err := cl.SchemaByVersion(ctx, args[0], ver)
				if err != nil {
					return rf.err(err)
				}
				s = ss.Schema
				info.Subject, info.Version, info.ID = ss.Subject, ss.Version, ss.ID
			}
			info.Type, info.References, info.Schema = s.Type.String(), s.References, s.Schema
			out := cmd.OutOrStdout()
			switch {
			case format == "json":
				return writeJSON(out, info)
			case schemaOnly:
				_, err := io.WriteString(out, prettySchema(s))
				return err
			}
			if info.Subject != "" {
				fmt.Fprintf(out, "Subject:   %s\nVersion:   %d\n", info.Subject, info.Version)
			}
			fmt.Fprintf(out, "ID:        %d\nType:      %s\n", info.ID, info.Type)
			for _, sv := range info.UsedBy {
				fmt.Fprintf(out, "Used by:   %s version %d\n", sv.Subject, sv.Version)
			}
			for _, r := range info.References {
				fmt.Fprintf(out, "Reference: %s = %s version %d\n", r.Name, r.Subject, r.Version)
			}
			fmt.Fprintln(out)
			_, err = io.WriteString(out, prettySchema(s))
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&version, "version", "latest", "version of SUBJECT: a number or latest")
	fs.IntVar(&id, "id", 0, "get the schema with this id instead of a subject's version")
	fs.BoolVar(&schemaOnly, "schema-only", false, "print only the schema")
	fs.BoolVar(&deleted, "deleted", false, "also find soft-deleted versions")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}

// schemaInput are the flags that give a schema: register and check.
type schemaInput struct {
	file       string
	typ        string
	references []string
}

func (in *schemaInput) register(fs *pflag.FlagSet) {
	fs.StringVarP(&in.file, "file", "f", "", "the schema file (- for standard input)")
	fs.StringVarP(&in.typ, "type", "t", "", "schema type AVRO, JSON or PROTOBUF (default: from the file extension .avsc, .json, .proto)")
	fs.StringArrayVarP(&in.references, "reference", "r", nil,
		"a reference as name=subject:version (version a number or latest; repeatable)")
}

// schemaType is --type, or the type the file extension implies.
func (in *schemaInput) schemaType() (sr.SchemaType, error) {
	t := in.typ
	if t == "" {
		switch strings.ToLower(filepath.Ext(in.file)) {
		case ".avsc", ".avro":
			t = "AVRO"
		case ".json":
			t = "JSON"
		case ".proto":
			t = "PROTOBUF"
		default:
			return 0, usagef("cannot tell the schema type of %q from its extension (.avsc, .json, .proto); give --type AVRO, JSON or PROTOBUF", in.file)
		}
	}
	switch strings.ToUpper(t) {
	case "AVRO":
		return sr.TypeAvro, nil
	case "JSON", "JSONSCHEMA", "JSON-SCHEMA":
		return sr.TypeJSON, nil
	case "PROTOBUF", "PROTO":
		return sr.TypeProtobuf, nil
	}
	return 0, usagef("--type %q: want AVRO, JSON or PROTOBUF", in.typ)
}

// read builds the schema from the flags; a reference to the latest version
// is resolved to its number, since the registry stores numbers.
func (in *schemaInput) read(ctx context.Context, cmd *cobra.Command, rf *registryFlags, cl *sr.Client) (sr.Schema, error) {
	if in.file == "" {
		return sr.Schema{}, usagef("missing --file (see '%s --help')", cmd.CommandPath())
	}
	typ, err := in.schemaType()
	if err != nil {
		return sr.Schema{}, err
	}
	type ref struct {
		sr.SchemaReference
		latest bool
	}
	var refs []ref
	for _, r := range in.references {
		name, sv, ok1 := strings.Cut(r, "=")
		i := strings.LastIndex(sv, ":")
		if !ok1 || i < 0 || name == "" || sv[:i] == "" {
			return sr.Schema{}, usagef("--reference %q: want name=subject:version", r)
		}
		v, err := parseVersion(sv[i+1:])
		if err != nil {
			return sr.Schema{}, usagef("--reference %q: want name=subject:version with version a positive number or latest", r)
		}
		refs = append(refs, ref{sr.SchemaReference{Name: name, Subject: sv[:i], Version: v}, v == -1})
	}
	var text []byte
	if in.file == "-" {
		text, err = io.ReadAll(cmd.InOrStdin())
	} else {
		text, err = os.ReadFile(in.file)
	}
	if err != nil {
		return sr.Schema{}, fmt.Errorf("read schema: %w", err)
	}
	s := sr.Schema{Schema: string(text), Type: typ}
	for _, r := range refs {
		if r.latest {
			ss, err := cl.SchemaByVersion(ctx, r.Subject, -1)
			if err != nil {
				return sr.Schema{}, fmt.Errorf("reference %s: %w", r.Name, rf.err(err))
			}
			r.Version = ss.Version
		}
		s.References = append(s.References, r.SchemaReference)
	}
	return s, nil
}

// registered is `schema register --format json`.
type registered struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
	ID      int    `json:"id"`
	Existed bool   `json:"existed"`
}

func newSchemaRegisterCmd() *cobra.Command {
	var (
		rf     registryFlags
		in     schemaInput
		format string
	)
	cmd := &cobra.Command{
		Use:   "register SUBJECT --file F",
		Short: "Register a schema under a subject",
		Long: `Register the schema in --file under SUBJECT and print its id and version. The
type comes from --type or the file extension: .avsc is AVRO, .json JSON
Schema, .proto PROTOBUF. References to other subjects' schemas are given
as --reference name=subject:version, where name is what the schema uses
(an Avro full name, a JSON $ref URL, a Protobuf import path).

A schema identical to one the subject already has is not registered again:
the command says so and prints its id and version. A schema the subject's
compatibility level refuses fails with the registry's reasons (409).
--format json prints {"subject","version","id","existed"}.`,
		Example: `  samsa schema register orders-value --file order.avsc
  samsa schema register orders-value --file order.proto \
    --reference common/address.proto=address-value:latest
  cat order.json | samsa schema register orders-value --file - --type JSON`,
		Args: argsBetween(1, 1, "SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			subject := args[0]
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := in.read(ctx, cmd, &rf, cl)
			if err != nil {
				return err
			}
			res := registered{Subject: subject}
			ss, err := cl.LookupSchema(ctx, subject, s)
			if err == nil {
				res.Version, res.ID, res.Existed = ss.Version, ss.ID, true
			} else if c := srCode(err); c != 40401 && c != 40403 {
				return rf.err(err)
			} else {
				if _, err := cl.RegisterSchema(ctx, subject, s, -1, -1); err != nil {
					return rf.err(err)
				}
				if ss, err = cl.LookupSchema(ctx, subject, s); err != nil {
					return rf.err(err)
				}
				res.Version, res.ID = ss.Version, ss.ID
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, res)
			}
			if res.Existed {
				fmt.Fprintf(out, "Already registered: subject %q version %d, id %d.\n", subject, res.Version, res.ID)
			} else {
				fmt.Fprintf(out, "Registered subject %q version %d, id %d.\n", subject, res.Version, res.ID)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	in.register(fs)
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}

// checked is `schema check --format json`.
type checked struct {
	Subject    string   `json:"subject"`
	Version    string   `json:"version"`
	Compatible bool     `json:"compatible"`
	Messages   []string `json:"messages"`
}

func newSchemaCheckCmd() *cobra.Command {
	var (
		rf      registryFlags
		in      schemaInput
		version string
		format  string
	)
	cmd := &cobra.Command{
		Use:   "check SUBJECT --file F",
		Short: "Check a schema's compatibility with a subject",
		Long: `Ask the registry whether the schema in --file is compatible with SUBJECT
under its compatibility level, without registering it: against the latest
version (default), version N, or with --version all every version the
level compares with (all of them for the _TRANSITIVE levels). Type and
references are given as for register.

Prints whether it is compatible and, when not, the registry's reasons; it
exits with status 1 when the schema is incompatible (0 when compatible, 2
for usage errors), so scripts and CI can gate on it. --format json prints
{"subject","version","compatible","messages"} and uses the same exit codes.`,
		Example: `  samsa schema check orders-value --file order-v2.avsc
  samsa schema check orders-value --file order-v2.avsc --version 1
  samsa schema check orders-value --file order.proto --version all
  samsa schema check orders-value -f order-v2.avsc -o json | jq .messages`,
		Args: argsBetween(1, 1, "SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			subject := args[0]
			ver := -2
			if !strings.EqualFold(version, "all") {
				v, err := parseVersion(version)
				if err != nil {
					return usagef("--version %q: want a positive number, latest or all", version)
				}
				ver = v
			}
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := in.read(ctx, cmd, &rf, cl)
			if err != nil {
				return err
			}
			res, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), subject, ver, s)
			if err != nil {
				return rf.err(err)
			}
			against := strings.ToLower(version)
			if ver > 0 {
				against = strconv.Itoa(ver)
			}
			c := checked{Subject: subject, Version: against, Compatible: res.Is, Messages: res.Messages}
			if c.Messages == nil {
				c.Messages = []string{}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeJSON(out, c); err != nil {
					return err
				}
			} else {
				what := fmt.Sprintf("subject %q version %s", subject, against)
				if ver == -2 {
					what = fmt.Sprintf("subject %q (all versions its level compares with)", subject)
				}
				if res.Is {
					fmt.Fprintf(out, "Compatible with %s.\n", what)
				} else {
					fmt.Fprintf(out, "Incompatible with %s:\n", what)
					for _, m := range res.Messages {
						fmt.Fprintf(out, "  - %s\n", oneLine(m))
					}
				}
			}
			if !res.Is {
				return fmt.Errorf("schema is incompatible with subject %q", subject)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	in.register(fs)
	fs.StringVar(&version, "version", "latest", "version to check against: a number, latest or all")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}

// deleted is `schema delete --format json`.
type deletedVersions struct {
	Subject   string `json:"subject"`
	Versions  []int  `json:"versions"`
	Permanent bool   `json:"permanent"`
}

func newSchemaDeleteCmd() *cobra.Command {
	var (
		rf        registryFlags
		version   string
		permanent bool
		format    string
	)
	cmd := &cobra.Command{
		Use:   "delete SUBJECT [--version N|latest] [--permanent]",
		Short: "Delete a subject or one of its versions",
		Long: `Soft-delete SUBJECT (all its versions) or one --version of it: the schemas
keep their ids and can still be read by id, but the versions are no longer
listed or used for compatibility. --permanent deletes for good, and frees
ids no other subject uses; what is not soft-deleted yet is soft-deleted
first. A version another schema references cannot be deleted (42206).
--format json prints {"subject","versions","permanent"}.`,
		Example: `  samsa schema delete orders-value --version 1
  samsa schema delete orders-value
  samsa schema delete orders-value --permanent`,
		Args: argsBetween(1, 1, "SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			subject := args[0]
			ver := 0
			if cmd.Flags().Changed("version") {
				v, err := parseVersion(version)
				if err != nil {
					return err
				}
				ver = v
			}
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			res := deletedVersions{Subject: subject, Permanent: permanent}
			if ver == 0 {
				vs, err := cl.DeleteSubject(ctx, subject, sr.SoftDelete)
				if permanent && srCode(err) == 40404 { // already soft-deleted
					err = nil
				}
				if err == nil && permanent {
					vs, err = cl.DeleteSubject(ctx, subject, sr.HardDelete)
				}
				if err != nil {
					return rf.err(err)
				}
				res.Versions = vs
			} else {
				path := "/subjects/" + url.PathEscape(subject) + "/versions/" + strconv.Itoa(ver)
				var v int
				err := cl.Do(ctx, http.MethodDelete, path, nil, &v)
				if permanent {
					if srCode(err) == 40406 { // already soft-deleted
						err = nil
					}
					if err == nil {
						if v > 0 {
							path = "/subjects/" + url.PathEscape(subject) + "/versions/" + strconv.Itoa(v)
						}
						pctx := sr.WithParams(ctx, sr.RawParams(url.Values{"permanent": {"true"}}))
						err = cl.Do(pctx, http.MethodDelete, path, nil, &v)
					}
				}
				if err != nil {
					return rf.err(err)
				}
				res.Versions = []int{v}
			}
			if res.Versions == nil {
				res.Versions = []int{}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, res)
			}
			how := "Soft-deleted"
			if permanent {
				how = "Permanently deleted"
			}
			vs := make([]string, len(res.Versions))
			for i, v := range res.Versions {
				vs[i] = strconv.Itoa(v)
			}
			if ver == 0 {
				fmt.Fprintf(out, "%s subject %q (version%s %s).\n", how, subject, plural(len(vs)), strings.Join(vs, ", "))
			} else {
				fmt.Fprintf(out, "%s subject %q version %s.\n", how, subject, strings.Join(vs, ", "))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&version, "version", "", "delete only this version (a number or latest)")
	fs.BoolVar(&permanent, "permanent", false, "delete for good (soft-deletes first if needed)")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}

// compatConfig is `schema config --format json`.
type compatConfig struct {
	Subject       string `json:"subject,omitempty"`
	Compatibility string `json:"compatibility"`
	// Source is "subject" when the subject has its own level, "global"
	// when the level is the global one.
	Source string `json:"source"`
}

func newSchemaConfigCmd() *cobra.Command {
	var (
		rf     registryFlags
		set    string
		del    bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "config [SUBJECT] [--set LEVEL | --delete]",
		Short: "Show, set or delete compatibility levels",
		Long: `Show the compatibility level of SUBJECT (its own, or the global one it
follows) or, without SUBJECT, the global level. --set changes it to one of
NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,
FULL_TRANSITIVE; --delete removes the subject's own level so that it
follows the global one again (without SUBJECT: resets the global level to
the registry's default). Every form prints the level in effect afterwards.
--format json prints {"subject","compatibility","source"} with source
"subject" or "global".`,
		Example: `  samsa schema config
  samsa schema config orders-value
  samsa schema config orders-value --set FULL_TRANSITIVE
  samsa schema config --set NONE
  samsa schema config orders-value --delete`,
		Args: argsBetween(0, 1, "at most one SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(format, "text", "json"); err != nil {
				return err
			}
			if set != "" && del {
				return usagef("give --set or --delete, not both")
			}
			var level sr.CompatibilityLevel
			if set != "" {
				if err := level.UnmarshalText([]byte(set)); err != nil {
					return usagef("--set %q: want NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE", set)
				}
			}
			var subject string
			if len(args) == 1 {
				subject = args[0]
			}
			cl, err := rf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch {
			case set != "":
				err = cl.SetCompatibility(ctx, sr.SetCompatibility{Level: level}, subject)[0].Err
			case del:
				err = cl.ResetCompatibility(ctx, subject)[0].Err
			}
			if err != nil {
				return rf.err(err)
			}
			res := compatConfig{Subject: subject, Source: "global"}
			r := cl.Compatibility(ctx, subject)[0]
			if subject != "" && srCode(r.Err) == 40408 {
				r = cl.Compatibility(ctx)[0]
			} else if subject != "" {
				res.Source = "subject"
			}
			if r.Err != nil {
				return rf.err(r.Err)
			}
			res.Compatibility = r.Level.String()
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, res)
			}
			switch {
			case subject == "":
				fmt.Fprintf(out, "Global compatibility: %s\n", res.Compatibility)
			case res.Source == "global":
				fmt.Fprintf(out, "Compatibility of subject %q: %s (the global level; the subject has none of its own)\n", subject, res.Compatibility)
			default:
				fmt.Fprintf(out, "Compatibility of subject %q: %s\n", subject, res.Compatibility)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&set, "set", "", "set the level (NONE, BACKWARD, FORWARD, FULL, with or without _TRANSITIVE)")
	fs.BoolVar(&del, "delete", false, "delete the level (a subject then follows the global level)")
	fs.StringVarP(&format, "format", "o", "text", "output format: text or json")
	rf.register(fs)
	return cmd
}
