package schemaregistry

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// printProto writes a compiled .proto file as the text the registry stores.
//
// The reference stores every Protobuf schema as .proto text that it prints
// itself (comments and layout of the original are dropped), and turns a
// schema sent as a FileDescriptorProto into that text too. We print from
// the compiled descriptor in both cases, so a schema sent as text and the
// same schema sent as a descriptor store the same text and get one id.
// The layout follows the reference's: syntax, package, imports, file
// options, messages then enums (each level in declaration order, which the
// wire format's message indexes depend on), extends, services; within a
// message reserved ranges, options, fields, oneofs, extension ranges,
// extends, nested messages, nested enums.
//
// Differences from the reference's text form, on purpose: type names are
// always fully qualified with a leading dot (as the reference prints
// descriptors and normalized schemas); maps are printed as map<K, V>
// without their synthetic entry message (as the reference prints text and
// normalized schemas); standard options come in field-number order and
// custom ones after them by name (the reference keeps the order of the
// source text, which a descriptor does not have); json_name is printed only
// when it differs from protoc's default.
//
// normalize applies the reference's Protobuf normalization on top:
// imports, options, fields, oneofs (by their first field), enum values,
// reserved and extension ranges are sorted, and the proto2 syntax line,
// the default, is left out.
func printProto(fd protoreflect.FileDescriptor, types protoregistry.ExtensionTypeResolver, normalize bool) string {
	p := &protoPrinter{types: types, normalize: normalize}
	return p.file(fd)
}

type protoPrinter struct {
	types     protoregistry.ExtensionTypeResolver
	normalize bool
}

func (p *protoPrinter) file(fd protoreflect.FileDescriptor) string {
	var b strings.Builder
	switch fd.Syntax() {
	case protoreflect.Proto2:
		if !p.normalize {
			b.WriteString("syntax = \"proto2\";\n")
		}
	case protoreflect.Proto3:
		b.WriteString("syntax = \"proto3\";\n")
	case protoreflect.Editions:
		fmt.Fprintf(&b, "edition = %q;\n", editionName(fd))
	}
	if fd.Package() != "" {
		fmt.Fprintf(&b, "package %s;\n", fd.Package())
	}
	var imports, public []string
	for i := range fd.Imports().Len() {
		imp := fd.Imports().Get(i)
		switch {
		case imp.IsPublic:
			public = append(public, imp.Path())
		case imp.IsWeak:
			// Weak imports are printed like the reference: not at all.
		default:
			imports = append(imports, imp.Path())
		}
	}
	if p.normalize {
		slices.Sort(imports)
		imports = slices.Compact(imports)
		slices.Sort(public)
		public = slices.Compact(public)
	}
	if len(imports)+len(public) > 0 {
		b.WriteByte('\n')
		for _, path := range imports {
			fmt.Fprintf(&b, "import %q;\n", path)
		}
		for _, path := range public {
			fmt.Fprintf(&b, "import public %q;\n", path)
		}
	}
	if opts := p.options(fd.Options()); len(opts) > 0 {
		b.WriteByte('\n')
		for _, o := range opts {
			b.WriteString("option " + o + ";\n")
		}
	}
	if fd.Messages().Len()+fd.Enums().Len() > 0 {
		b.WriteByte('\n')
		for i := range fd.Messages().Len() {
			b.WriteString(p.message(fd.Messages().Get(i)))
		}
		for i := range fd.Enums().Len() {
			b.WriteString(p.enum(fd.Enums().Get(i)))
		}
	}
	if fd.Extensions().Len() > 0 {
		b.WriteByte('\n')
		b.WriteString(p.extends(fd.Extensions()))
	}
	if fd.Services().Len() > 0 {
		b.WriteByte('\n')
		for i := range fd.Services().Len() {
			b.WriteString(p.service(fd.Services().Get(i)))
		}
	}
	return b.String()
}

func editionName(fd protoreflect.FileDescriptor) string {
	e := protodesc.ToFileDescriptorProto(fd).GetEdition().String()
	return strings.TrimPrefix(e, "EDITION_")
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

func (p *protoPrinter) message(m protoreflect.MessageDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "message %s {", m.Name())
	if r := p.reserved(m.ReservedRanges(), m.ReservedNames(), true); r != "" {
		b.WriteString("\n" + indent(r))
	}
	if opts := p.options(m.Options()); len(opts) > 0 {
		b.WriteByte('\n')
		for _, o := range opts {
			b.WriteString(indent("option " + o + ";\n"))
		}
	}
	// Fields outside real oneofs (a proto3 optional field sits in a
	// synthetic oneof and is printed as optional).
	var plain []protoreflect.FieldDescriptor
	for i := range m.Fields().Len() {
		f := m.Fields().Get(i)
		if o := f.ContainingOneof(); o == nil || o.IsSynthetic() {
			plain = append(plain, f)
		}
	}
	p.sortFields(plain)
	if len(plain) > 0 {
		b.WriteByte('\n')
		for _, f := range plain {
			b.WriteString(indent(p.field(f, false)))
		}
	}
	var oneofs [][]protoreflect.FieldDescriptor
	for i := range m.Oneofs().Len() {
		o := m.Oneofs().Get(i)
		if o.IsSynthetic() || o.Fields().Len() == 0 {
			continue
		}
		var fs []protoreflect.FieldDescriptor
		for j := range o.Fields().Len() {
			fs = append(fs, o.Fields().Get(j))
		}
		p.sortFields(fs)
		oneofs = append(oneofs, fs)
	}
	if p.normalize {
		slices.SortStableFunc(oneofs, func(a, c []protoreflect.FieldDescriptor) int { return cmp.Compare(a[0].Number(), c[0].Number()) })
	}
	if len(oneofs) > 0 {
		b.WriteByte('\n')
		for _, fs := range oneofs {
			o := fs[0].ContainingOneof()
			var ob strings.Builder
			fmt.Fprintf(&ob, "oneof %s {", o.Name())
			if opts := p.options(o.Options()); len(opts) > 0 {
				ob.WriteByte('\n')
				for _, opt := range opts {
					ob.WriteString(indent("option " + opt + ";\n"))
				}
			}
			ob.WriteByte('\n')
			for _, f := range fs {
				ob.WriteString(indent(p.field(f, true)))
			}
			ob.WriteString("}\n")
			b.WriteString(indent(ob.String()))
		}
	}
	if rs := p.ranges(m.ExtensionRanges(), true); len(rs) > 0 {
		b.WriteByte('\n')
		for _, r := range rs {
			b.WriteString(indent("extensions " + r + ";\n"))
		}
	}
	if m.Extensions().Len() > 0 {
		b.WriteByte('\n')
		b.WriteString(indent(p.extends(m.Extensions())))
	}
	var nested []string
	for i := range m.Messages().Len() {
		n := m.Messages().Get(i)
		if n.IsMapEntry() || isGroupMessage(n) {
			continue
		}
		nested = append(nested, p.message(n))
	}
	for i := range m.Enums().Len() {
		nested = append(nested, p.enum(m.Enums().Get(i)))
	}
	if len(nested) > 0 {
		b.WriteByte('\n')
		for _, n := range nested {
			b.WriteString(indent(n))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// isGroupMessage reports whether m is the message of a proto2 group, which
// is printed with its field.
func isGroupMessage(m protoreflect.MessageDescriptor) bool {
	parent, ok := m.Parent().(protoreflect.MessageDescriptor)
	if !ok {
		return false
	}
	for i := range parent.Fields().Len() {
		if f := parent.Fields().Get(i); f.Kind() == protoreflect.GroupKind && f.Message() == m {
			return true
		}
	}
	return false
}

func (p *protoPrinter) sortFields(fs []protoreflect.FieldDescriptor) {
	if p.normalize {
		slices.SortStableFunc(fs, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	}
}

func (p *protoPrinter) field(f protoreflect.FieldDescriptor, inOneof bool) string {
	var b strings.Builder
	if !inOneof && !f.IsMap() {
		switch {
		case f.Cardinality() == protoreflect.Repeated:
			b.WriteString("repeated ")
		case f.Cardinality() == protoreflect.Required && f.ParentFile().Syntax() != protoreflect.Editions:
			b.WriteString("required ")
		case f.HasOptionalKeyword():
			b.WriteString("optional ")
		}
	}
	if f.Kind() == protoreflect.GroupKind {
		fmt.Fprintf(&b, "group %s = %d {", f.Message().Name(), f.Number())
		var fs []protoreflect.FieldDescriptor
		for i := range f.Message().Fields().Len() {
			fs = append(fs, f.Message().Fields().Get(i))
		}
		p.sortFields(fs)
		if len(fs) > 0 {
			b.WriteByte('\n')
		}
		for _, g := range fs {
			b.WriteString(indent(p.field(g, false)))
		}
		b.WriteString("}\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s = %d", fieldType(f), f.Name(), f.Number())
	opts := p.options(f.Options())
	if f.HasDefault() {
		opts = append(opts, "default = "+defaultValue(f))
	}
	if f.JSONName() != defaultJSONName(string(f.Name())) && !f.IsExtension() {
		opts = append(opts, "json_name = "+quote(f.JSONName()))
	}
	if p.normalize {
		slices.Sort(opts)
	}
	if len(opts) > 0 {
		b.WriteString(" " + bracketed(opts))
	}
	b.WriteString(";\n")
	return b.String()
}

// bracketed writes field or enum value options: [a] or one per line.
func bracketed(opts []string) string {
	if len(opts) == 1 {
		return "[" + opts[0] + "]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, o := range opts {
		if i < len(opts)-1 {
			o += ","
		}
		b.WriteString(indent(o + "\n"))
	}
	b.WriteString("]")
	return b.String()
}

func fieldType(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return fmt.Sprintf("map<%s, %s>", fieldType(f.MapKey()), fieldType(f.MapValue()))
	}
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(f.Message().FullName())
	case protoreflect.EnumKind:
		return "." + string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func defaultValue(f protoreflect.FieldDescriptor) string {
	v := f.Default()
	switch f.Kind() {
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quote(string(v.Bytes()))
	case protoreflect.EnumKind:
		return string(f.DefaultEnumValue().Name())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return formatFloat(v.Float(), f.Kind() == protoreflect.FloatKind)
	}
	return v.String()
}

func formatFloat(x float64, single bool) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsNaN(x):
		return "nan"
	}
	bits := 64
	if single {
		bits = 32
	}
	return strconv.FormatFloat(x, 'g', -1, bits)
}

// quote writes s as a .proto string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (p *protoPrinter) enum(e protoreflect.EnumDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "enum %s {", e.Name())
	r := p.reserved(e.ReservedRanges(), e.ReservedNames(), false)
	opts := p.options(e.Options())
	if r != "" {
		b.WriteString("\n" + indent(r))
	} else if len(opts) > 0 || e.Values().Len() > 0 {
		b.WriteByte('\n')
	}
	for _, o := range opts {
		b.WriteString(indent("option " + o + ";\n"))
	}
	var vals []protoreflect.EnumValueDescriptor
	for i := range e.Values().Len() {
		vals = append(vals, e.Values().Get(i))
	}
	if p.normalize {
		slices.SortStableFunc(vals, func(a, c protoreflect.EnumValueDescriptor) int {
			return cmp.Or(cmp.Compare(a.Number(), c.Number()), cmp.Compare(a.Name(), c.Name()))
		})
	}
	for _, v := range vals {
		line := fmt.Sprintf("%s = %d", v.Name(), v.Number())
		if vo := p.options(v.Options()); len(vo) > 0 {
			line += " " + bracketed(vo)
		}
		b.WriteString(indent(line + ";\n"))
	}
	b.WriteString("}\n")
	return b.String()
}

// rangeList is what ReservedRanges and ExtensionRanges have in common.
type rangeList interface {
	Len() int
	Get(int) [2]protoreflect.FieldNumber
}

// ranges formats number ranges; exclusive tells whether the end of each
// range is exclusive (messages) or inclusive (enums).
func (p *protoPrinter) ranges(rs rangeList, exclusive bool) []string {
	type r struct{ lo, hi int64 }
	var list []r
	for i := range rs.Len() {
		x := rs.Get(i)
		hi := int64(x[1])
		if exclusive {
			hi--
		}
		list = append(list, r{int64(x[0]), hi})
	}
	if p.normalize {
		slices.SortStableFunc(list, func(a, b r) int { return cmp.Compare(a.lo, b.lo) })
	}
	var out []string
	for _, x := range list {
		switch {
		case x.lo == x.hi:
			out = append(out, strconv.FormatInt(x.lo, 10))
		case exclusive && x.hi >= int64(protowireMaxField):
			out = append(out, fmt.Sprintf("%d to max", x.lo))
		case !exclusive && x.hi == math.MaxInt32:
			out = append(out, fmt.Sprintf("%d to max", x.lo))
		default:
			out = append(out, fmt.Sprintf("%d to %d", x.lo, x.hi))
		}
	}
	return out
}

const protowireMaxField = 1<<29 - 1

type enumRanges struct{ protoreflect.EnumRanges }

func (e enumRanges) Get(i int) [2]protoreflect.FieldNumber {
	r := e.EnumRanges.Get(i)
	return [2]protoreflect.FieldNumber{protoreflect.FieldNumber(r[0]), protoreflect.FieldNumber(r[1])}
}

// reserved prints reserved ranges and names, one statement each.
func (p *protoPrinter) reserved(rs any, names protoreflect.Names, exclusive bool) string {
	var list rangeList
	switch r := rs.(type) {
	case protoreflect.FieldRanges:
		list = r
	case protoreflect.EnumRanges:
		list = enumRanges{r}
	}
	var b strings.Builder
	for _, r := range p.ranges(list, exclusive) {
		b.WriteString("reserved " + r + ";\n")
	}
	var ns []string
	for i := range names.Len() {
		ns = append(ns, string(names.Get(i)))
	}
	if p.normalize {
		slices.Sort(ns)
	}
	for _, n := range ns {
		b.WriteString("reserved " + quote(n) + ";\n")
	}
	return b.String()
}

// extends prints extension fields grouped by the message they extend, in
// order of first appearance.
func (p *protoPrinter) extends(xs protoreflect.ExtensionDescriptors) string {
	var order []protoreflect.FullName
	by := map[protoreflect.FullName][]protoreflect.FieldDescriptor{}
	for i := range xs.Len() {
		x := xs.Get(i)
		name := x.ContainingMessage().FullName()
		if _, ok := by[name]; !ok {
			order = append(order, name)
		}
		by[name] = append(by[name], x)
	}
	var b strings.Builder
	for _, name := range order {
		fs := by[name]
		p.sortFields(fs)
		fmt.Fprintf(&b, "extend .%s {\n", name)
		for _, f := range fs {
			b.WriteString(indent(p.field(f, false)))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (p *protoPrinter) service(s protoreflect.ServiceDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s {", s.Name())
	if opts := p.options(s.Options()); len(opts) > 0 {
		b.WriteByte('\n')
		for _, o := range opts {
			b.WriteString(indent("option " + o + ";\n"))
		}
	}
	if s.Methods().Len() > 0 {
		b.WriteByte('\n')
	}
	for i := range s.Methods().Len() {
		m := s.Methods().Get(i)
		var mb strings.Builder
		mb.WriteString("rpc " + string(m.Name()) + " (")
		if m.IsStreamingClient() {
			mb.WriteString("stream ")
		}
		mb.WriteString("." + string(m.Input().FullName()) + ") returns (")
		if m.IsStreamingServer() {
			mb.WriteString("stream ")
		}
		mb.WriteString("." + string(m.Output().FullName()) + ")")
		if opts := p.options(m.Options()); len(opts) > 0 {
			mb.WriteString(" {\n")
			for _, o := range opts {
				mb.WriteString(indent("option " + o + ";\n"))
			}
			mb.WriteString("}")
		}
		mb.WriteString(";\n")
		b.WriteString(indent(mb.String()))
	}
	b.WriteString("}\n")
	return b.String()
}

// options lists the options set in opts as "name = value": standard ones
// in field-number order, then custom ones (extensions, "(full.name)") by
// name; all by name when normalizing. Custom options a descriptor carries
// as unknown fields are resolved against the schema's own files first.
func (p *protoPrinter) options(opts gproto.Message) []string {
	if opts == nil {
		return nil
	}
	m := opts.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	if len(m.GetUnknown()) > 0 && p.types != nil {
		if raw, err := gproto.Marshal(opts); err == nil {
			fresh := m.Type().New().Interface()
			if (gproto.UnmarshalOptions{Resolver: p.types}).Unmarshal(raw, fresh) == nil {
				m = fresh.ProtoReflect()
			}
		}
	}
	type opt struct {
		custom bool
		num    protoreflect.FieldNumber
		name   string
		text   []string
	}
	var list []opt
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		o := opt{custom: fd.IsExtension(), num: fd.Number(), name: string(fd.Name())}
		if o.custom {
			o.name = "(" + string(fd.FullName()) + ")"
		}
		if fd.IsList() {
			for i := range v.List().Len() {
				o.text = append(o.text, o.name+" = "+p.value(fd, v.List().Get(i)))
			}
		} else {
			o.text = []string{o.name + " = " + p.value(fd, v)}
		}
		list = append(list, o)
		return true
	})
	slices.SortStableFunc(list, func(a, b opt) int {
		if p.normalize {
			return cmp.Compare(a.name, b.name)
		}
		if a.custom != b.custom {
			if a.custom {
				return 1
			}
			return -1
		}
		if a.custom {
			return cmp.Compare(a.name, b.name)
		}
		return cmp.Compare(a.num, b.num)
	})
	var out []string
	for _, o := range list {
		out = append(out, o.text...)
	}
	return out
}

// value formats one option value; messages as { field: value, ... }.
func (p *protoPrinter) value(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quote(string(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return formatFloat(v.Float(), fd.Kind() == protoreflect.FloatKind)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		var fields []string
		v.Message().Range(func(f protoreflect.FieldDescriptor, x protoreflect.Value) bool {
			name := string(f.Name())
			if f.IsExtension() {
				name = "[" + string(f.FullName()) + "]"
			}
			if f.IsList() {
				for i := range x.List().Len() {
					fields = append(fields, name+": "+p.value(f, x.List().Get(i)))
				}
			} else {
				fields = append(fields, name+": "+p.value(f, x))
			}
			return true
		})
		if p.normalize {
			slices.SortStableFunc(fields, func(a, b string) int {
				return cmp.Compare(a[:strings.Index(a, ":")], b[:strings.Index(b, ":")])
			})
		}
		if len(fields) == 0 {
			return "{}"
		}
		var b strings.Builder
		b.WriteString("{\n")
		for i, f := range fields {
			if i < len(fields)-1 {
				f += ","
			}
			b.WriteString(indent(f + "\n"))
		}
		b.WriteString("}")
		return b.String()
	}
	return v.String()
}
