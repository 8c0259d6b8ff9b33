package kguard

// The layout DSL. A request body is a struct; a struct is a list of fields,
// each present in a range of versions; in flexible versions every struct ends
// with a tagged-field section. The tables (requests_*.go) are written with
// the constructors below, one line per field, in wire order, with the field
// names kmsg uses, so a table reads like the message definition it follows.
//
// Only what decides where bytes start and end is recorded: fixed widths,
// which strings may be null, arrays and their elements, nested structs, and
// the tagged fields whose content kmsg decodes (it decodes a known tag's
// value and fails if that value is short, so Check must walk it too).
// Values (enums, ranges, nulls in arrays and bytes, which kmsg reads as
// empty) are the handlers' business.

// kind says how a field is laid out on the wire.
type kind uint8

const (
	// kindFixed is a fixed-width value: int8, bool, int16, int32, int64,
	// uuid.
	kindFixed kind = iota + 1
	// kindString is a compact string: uvarint length+1 (0 = null), bytes.
	kindString
	// kindBytes is compact bytes or nullable bytes: uvarint length+1, bytes.
	// Null (0) is accepted whatever the field says: kmsg reads it as empty.
	kindBytes
	// kindArray is a compact array: uvarint count+1 (0 = null), elements.
	// Null is accepted whatever the field says, for the same reason.
	kindArray
	// kindStruct is a nested struct: its fields, then its tagged fields.
	kindStruct
)

// allVersions is the open upper end of a version range.
const allVersions int16 = 1<<15 - 1

// neverNull marks a string that is not nullable in any version.
const neverNull int16 = allVersions

// field is one entry of a layout table.
type field struct {
	name string
	kind kind
	// minV and maxV bound the versions the field is on the wire in,
	// inclusive.
	minV, maxV int16
	// size is the width of a kindFixed field.
	size int
	// nullFrom is the first version in which a kindString may be null.
	nullFrom int16
	// elem is the element of a kindArray.
	elem *field
	// fields and tags make up a kindStruct. tags are the tagged fields
	// whose values kmsg decodes; any other tag is skipped by its size.
	fields []field
	tags   []taggedField
}

// taggedField is a tagged field kmsg knows: it decodes the value of tag
// `tag` as `f` in every flexible version, whatever version Kafka
// introduced the tag in, so Check does the same.
type taggedField struct {
	tag uint32
	f   field
}

func fixed(name string, size int) field {
	return field{name: name, kind: kindFixed, maxV: allVersions, size: size}
}

func i8(name string) field      { return fixed(name, 1) }
func boolean(name string) field { return fixed(name, 1) }
func i16(name string) field     { return fixed(name, 2) }
func i32(name string) field     { return fixed(name, 4) }
func i64(name string) field     { return fixed(name, 8) }
func uuid(name string) field    { return fixed(name, 16) }

// str is a string that is never null.
func str(name string) field {
	return field{name: name, kind: kindString, maxV: allVersions, nullFrom: neverNull}
}

// nstr is a string that may be null in every version it exists in.
func nstr(name string) field {
	f := str(name)
	f.nullFrom = 0
	return f
}

// byts is bytes or nullable bytes (the same to Check).
func byts(name string) field {
	return field{name: name, kind: kindBytes, maxV: allVersions}
}

// array is an array of scalar elements (int32, string).
func array(name string, elem field) field {
	return field{name: name, kind: kindArray, maxV: allVersions, elem: &elem}
}

// structs is an array of structs with the given fields.
func structs(name string, fields ...field) field {
	return array(name, strct(name, fields...))
}

// strct is a struct with the given fields.
func strct(name string, fields ...field) field {
	return field{name: name, kind: kindStruct, maxV: allVersions, fields: fields}
}

// since limits f to versions v and later.
func (f field) since(v int16) field {
	f.minV = v
	return f
}

// until limits f to versions v and earlier.
func (f field) until(v int16) field {
	f.maxV = v
	return f
}

// nullableSince makes a string nullable from version v on.
func (f field) nullableSince(v int16) field {
	f.nullFrom = v
	return f
}

// withTags declares the tagged fields kmsg decodes in a struct, or in the
// element struct of an array of structs.
func (f field) withTags(tags ...taggedField) field {
	if f.kind == kindArray {
		elem := f.elem.withTags(tags...)
		f.elem = &elem
		return f
	}
	f.tags = tags
	return f
}

func tagged(tag uint32, f field) taggedField { return taggedField{tag: tag, f: f} }

// in reports whether f is on the wire at version v.
func (f *field) in(v int16) bool { return v >= f.minV && v <= f.maxV }

// request is the layout of one API key's request body.
type request struct {
	key  int16
	name string
	// maxVersion is the newest version kmsg v1.15.0 decodes; versions from
	// 0 up to it are covered.
	maxVersion int16
	// flexibleFrom is the first flexible version (KIP-482).
	flexibleFrom int16
	body         field
}

// body builds a request layout; the body is a struct named after the API.
func body(key int16, name string, maxVersion, flexibleFrom int16, fields ...field) *request {
	return &request{key: key, name: name, maxVersion: maxVersion, flexibleFrom: flexibleFrom, body: strct(name, fields...)}
}

// withTags declares the tagged fields kmsg decodes at the top level of the
// body.
func (r *request) withTags(tags ...taggedField) *request {
	r.body = r.body.withTags(tags...)
	return r
}
