package awsapi

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Paginate cuts the page of size items that token starts at (the first page
// for ""). Tokens name the operation, so one from another operation is
// refused: ok is false for a token that is not valid here, and each service
// answers that with its own error. next is "" on the last page.
func Paginate[T any](items []T, size int, token, op string) (page []T, next string, ok bool) {
	start := 0
	if token != "" {
		b, err := hex.DecodeString(token)
		if err != nil {
			return nil, "", false
		}
		rest, found := strings.CutPrefix(string(b), op+":")
		n, err := strconv.Atoi(rest)
		if !found || err != nil || n < 0 || n > len(items) {
			return nil, "", false
		}
		start = n
	}
	end := min(start+size, len(items))
	if end < len(items) {
		next = hex.EncodeToString(fmt.Appendf(nil, "%s:%d", op, end))
	}
	return items[start:end], next, true
}

// NameToken is an opaque pagination token (a Marker, a nextToken) that
// resumes a listing after name, so that pages stay right while items come
// and go between calls.
func NameToken(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + name))
}

// AfterToken is the index a page resumes at in a sorted list of names: 0 for
// no token, past the named item otherwise. ok is false for a token that
// NameToken did not make; each service words that error its own way.
func AfterToken(sorted []string, token string) (start int, ok bool) {
	if token == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	name, found := strings.CutPrefix(string(raw), "after:")
	if err != nil || !found {
		return 0, false
	}
	i, exact := slices.BinarySearch(sorted, name)
	if exact {
		i++
	}
	return i, true
}
