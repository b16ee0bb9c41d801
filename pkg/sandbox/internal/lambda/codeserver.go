package lambda

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// codeServer serves GetFunction's Code.Location: on AWS a presigned S3 URL
// to the deployment package, here a local URL that answers with the zip.
type codeServer struct {
	srv *http.Server
	url string
}

// codeLocation is where GetFunction says a version's package can be
// downloaded; "" if the server cannot listen. It needs no signature, as a
// presigned URL needs none, but carries an unguessable token.
func (s *Service) codeLocation(v *version) string {
	s.codeOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.opts.Logger.Warn("lambda code server", "error", err)
			return
		}
		cs := &codeServer{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: http.HandlerFunc(s.serveCode), ReadHeaderTimeout: 10 * time.Second}}
		s.codeSrv = cs
		go func() { _ = cs.srv.Serve(ln) }()
	})
	if s.codeSrv == nil {
		return ""
	}
	return s.codeSrv.url + "/snapshots/" + v.fn.account + "/" + v.fn.name + "-" + v.code.token
}

func (s *Service) serveCode(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/snapshots/")
	account, file, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(file, "-")
	if !ok || r.Method != http.MethodGet || i < 0 {
		http.NotFound(w, r)
		return
	}
	name, token := file[:i], file[i+1:]
	s.mu.Lock()
	var found *code
	for k, f := range s.functions {
		if k.account != account || k.name != name {
			continue
		}
		for _, v := range append([]*version{f.latest}, f.sortedVersions()...) {
			if v.code.token == token {
				found = v.code
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(found.zip)
}

func (cs *codeServer) close() { _ = cs.srv.Close() }
