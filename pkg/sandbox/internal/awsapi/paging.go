package awsapi

import (
	"encoding/hex"
	"fmt"
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
