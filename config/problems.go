package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Line int    // 1-based line in the file; 0 when unknown (a key that is missing)
	Path string // key path such as environments.staging.upstream; "" for the whole file
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// ValidationError lists every problem found in a configuration, ordered by line.
type ValidationError struct {
	File     string // as given to Load; "" for Parse
	Problems []Problem
}

// Error has one line per problem, like a compiler: "config.yaml:12: path: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		var loc string
		switch {
		case e.File != "" && p.Line > 0:
			loc = fmt.Sprintf("%s:%d: ", e.File, p.Line)
		case e.File != "":
			loc = e.File + ": "
		case p.Line > 0:
			loc = fmt.Sprintf("line %d: ", p.Line)
		}
		lines[i] = loc + p.String()
	}
	return strings.Join(lines, "\n")
}

// source collects what the checks need to know about the file: the line of every key,
// the text as written of values changed by ${VAR} expansion, and the problems found.
type source struct {
	lines    map[string]int    // line of each key path the file contains
	raw      map[string]string // text as written of values changed by expansion, by path
	failed   map[string]bool   // paths whose value could not be read: nothing more is said there
	problems []Problem
	// unset are secrets whose environment variable is not set: only a part that uses them
	// needs them (Config.NeedSecrets), so they are not problems of the file.
	unset []Problem
}

func newSource() *source {
	return &source{lines: map[string]int{}, raw: map[string]string{}, failed: map[string]bool{}}
}

// problem records a problem found by validation at path, on the line of path or of its
// nearest parent. It says nothing about a value that could not be read: why was said
// already (see fail).
func (s *source) problem(path, format string, args ...any) {
	if !s.unread(path) {
		s.problemAt(s.line(path), path, format, args...)
	}
}

// unread reports whether the value at path, or one it is part of, could not be read.
func (s *source) unread(path string) bool {
	for f := range s.failed {
		if f == path || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}

// fail records that the value at path could not be read, and why.
func (s *source) fail(line int, path, format string, args ...any) {
	if !s.failed[path] {
		s.failed[path] = true
		s.problemAt(line, path, format, args...)
	}
}

func (s *source) problemAt(line int, path, format string, args ...any) {
	s.problems = append(s.problems, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of path, else of its nearest parent in the file, else 0.
func (s *source) line(path string) int {
	for path != "" {
		if l, ok := s.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// quote quotes the value at path for a message: as written in the file if it was
// expanded from environment variables, so a secret never reaches an error message.
func (s *source) quote(path, value string) string {
	if r, ok := s.raw[path]; ok {
		return strconv.Quote(r)
	}
	return strconv.Quote(value)
}

func (s *source) sorted() []Problem {
	out := append([]Problem(nil), s.problems...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// isPlainKey reports whether key can be written in a path without quotes.
func isPlainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// join appends key to path: a.b, or a["x.y/z"] for keys that are not plain words.
func join(path, key string) string {
	if !isPlainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
