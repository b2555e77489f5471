package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder decodes a YAML node tree onto Go values strictly: unknown keys, duplicate keys
// and values of the wrong type are problems, and decoding goes on to find them all.
// Keys missing from the file leave the value they had. Known keys come from yaml tags.
type decoder struct {
	src    *source
	raw    map[*yaml.Node]string // text as written of scalars changed by expansion
	failed map[*yaml.Node]bool   // scalars whose expansion failed
}

func newDecoder(src *source) *decoder {
	return &decoder{src: src, raw: map[*yaml.Node]string{}, failed: map[*yaml.Node]bool{}}
}

var durationType = reflect.TypeOf(time.Duration(0))

// boolValues are the booleans of YAML 1.2 (yes and no are strings there, and here).
var boolValues = map[string]bool{
	"true": true, "True": true, "TRUE": true,
	"false": false, "False": false, "FALSE": false,
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, path, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	default:
		d.decodeScalar(n, path, v)
	}
}

// plannedKeys are top-level sections Kuberpult will have, and what they will configure: the
// file says they are not supported yet, rather than unknown.
var plannedKeys = map[string]string{}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return // keep the defaults
	}
	if !d.expect(n, path, yaml.MappingNode, v.Type()) {
		return
	}
	fields, names := structFields(v.Type())
	for _, p := range d.pairs(n, path) {
		fp := join(path, p.key.Value)
		d.src.lines[fp] = p.key.Line
		i, ok := fields[p.key.Value]
		if !ok {
			if what, planned := plannedKeys[fp]; planned {
				d.src.problemAt(p.key.Line, fp, "not supported yet (%s); remove it for now", what)
				continue
			}
			d.src.problemAt(p.key.Line, fp, "unknown key; known keys here: %s", strings.Join(names, ", "))
			continue
		}
		d.decode(p.value, fp, v.Field(i))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if !d.expect(n, path, yaml.MappingNode, v.Type()) {
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		panic(fmt.Sprintf("config: cannot decode map keys of type %s", t.Key()))
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, p := range d.pairs(n, path) {
		fp := join(path, p.key.Value)
		d.src.lines[fp] = p.key.Line
		e := reflect.New(t.Elem()).Elem()
		d.decode(p.value, fp, e)
		v.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(t.Key()), e)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if !d.expect(n, path, yaml.SequenceNode, v.Type()) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		ip := index(path, i)
		d.src.lines[ip] = c.Line
		d.decode(c, ip, s.Index(i))
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, path string, v reflect.Value) {
	if !d.expect(n, path, yaml.ScalarNode, v.Type()) {
		return
	}
	if r, ok := d.raw[n]; ok {
		d.src.raw[path] = r
	}
	if d.failed[n] {
		d.src.failed[path] = true // expand said why
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	bad := func() {
		d.src.fail(n.Line, path, "%s is not %s", d.src.quote(path, n.Value), describe(v.Type()))
	}
	switch {
	case v.Kind() == reflect.String:
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, ok := boolValues[n.Value]
		_, expanded := d.raw[n]
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		if !ok || quoted && !expanded {
			bad()
			return
		}
		v.SetBool(b)
	case v.Type() == durationType:
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			bad()
			return
		}
		v.SetInt(int64(dur))
	case v.CanInt():
		i, err := strconv.ParseInt(n.Value, 10, v.Type().Bits())
		if err != nil {
			bad()
			return
		}
		v.SetInt(i)
	case v.CanUint():
		u, err := strconv.ParseUint(n.Value, 10, v.Type().Bits())
		if err != nil {
			bad()
			return
		}
		v.SetUint(u)
	default:
		panic(fmt.Sprintf("config: cannot decode values of type %s", v.Type()))
	}
}

// expect reports whether n is of kind k, and records a problem if not.
func (d *decoder) expect(n *yaml.Node, path string, k yaml.Kind, t reflect.Type) bool {
	if n.Kind == k {
		return true
	}
	if d.failed[n] {
		d.src.failed[path] = true // expand said why
		return false
	}
	got := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}[n.Kind]
	d.src.fail(n.Line, path, "expected %s, got %s", describe(t), got)
	return false
}

func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s, 15m or 2h"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a single value"
	}
	return "a whole number"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

type pair struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n, with the entries of merged mappings (<<: *x)
// that are not overridden, and reports duplicate and non-scalar keys.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	return d.mergedPairs(n, path, map[*yaml.Node]bool{n: true})
}

// mergedPairs is pairs; merged holds the mappings merged already, so that each is read
// once however often it is merged (no exponential work for nested merges).
func (d *decoder) mergedPairs(n *yaml.Node, path string, merged map[*yaml.Node]bool) []pair {
	var out []pair
	var sources []*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
			sources = append(sources, d.mergeSources(v, path)...)
		case k.Kind != yaml.ScalarNode:
			d.src.problemAt(k.Line, path, "a key must be a single value")
		case seen[k.Value] > 0:
			d.src.problemAt(k.Line, join(path, k.Value), "duplicate key; first set on line %d", seen[k.Value])
		default:
			seen[k.Value] = k.Line
			out = append(out, pair{k, v})
		}
	}
	for _, m := range sources {
		if merged[m] {
			continue
		}
		merged[m] = true
		for _, p := range d.mergedPairs(m, path, merged) {
			if seen[p.key.Value] == 0 {
				seen[p.key.Value] = p.key.Line
				out = append(out, p)
			}
		}
	}
	return out
}

// mergeSources returns the mappings a merge key (<<) names: one, or a list of them.
func (d *decoder) mergeSources(v *yaml.Node, path string) []*yaml.Node {
	for v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []*yaml.Node
	for _, m := range items {
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			d.src.problemAt(m.Line, path, "<< must merge a mapping or a list of mappings")
			continue
		}
		out = append(out, m)
	}
	return out
}

// structFields maps the yaml keys of struct type t to field indexes, and lists the keys.
func structFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}
