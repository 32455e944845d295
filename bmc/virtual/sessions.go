package virtual

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"sync"
)

const sessionsPath = "/redfish/v1/SessionService/Sessions"

// sessions is the SessionService: X-Auth-Token sessions, plus HTTP basic
// auth for clients that use it instead.
type sessions struct {
	user, pass string

	mu     sync.Mutex
	nextID int
	byTok  map[string]string // token → session id
}

func newSessions(user, pass string) *sessions {
	return &sessions{user: user, pass: pass, byTok: map[string]string{}}
}

func (s *sessions) credentialsOK(user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.user))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.pass))
	return u&p == 1
}

func (s *sessions) create() (id, token string) {
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id = strconv.Itoa(s.nextID)
	s.byTok[token] = id
	return id, token
}

func (s *sessions) valid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byTok[token]
	return ok
}

func (s *sessions) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, sid := range s.byTok {
		if sid == id {
			delete(s.byTok, tok)
			return true
		}
	}
	return false
}

func (s *sessions) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.byTok))
	for _, id := range s.byTok {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// require lets a request through with a valid X-Auth-Token or basic auth.
func (s *sessions) require(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if tok := r.Header.Get("X-Auth-Token"); tok != "" && s.valid(tok) {
			return h(w, r)
		}
		if u, p, ok := r.BasicAuth(); ok && s.credentialsOK(u, p) {
			return h(w, r)
		}
		return unauthorized()
	}
}

// Sessions returns how many login sessions are open; a client that forgets
// to log out shows up here (real BMCs run out of sessions).
func (s *Server) Sessions() int { return len(s.auth.ids()) }

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var body struct{ UserName, Password string }
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if !s.auth.credentialsOK(body.UserName, body.Password) {
		return unauthorized()
	}
	id, token := s.auth.create()
	w.Header().Set("X-Auth-Token", token)
	w.Header().Set("Location", sessionsPath+"/"+id)
	return writeJSON(w, http.StatusCreated, sessionJSON(id, body.UserName))
}

func sessionJSON(id, user string) map[string]any {
	return map[string]any{
		"@odata.id": sessionsPath + "/" + id, "@odata.type": "#Session.v1_0_0.Session",
		"Id": id, "Name": "User Session", "UserName": user,
	}
}

func (s *Server) sessionService(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id": "/redfish/v1/SessionService", "@odata.type": "#SessionService.v1_0_0.SessionService",
		"Id": "SessionService", "Name": "Session Service", "ServiceEnabled": true,
		"Sessions": link(sessionsPath),
	})
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	var members []string
	for _, id := range s.auth.ids() {
		members = append(members, sessionsPath+"/"+id)
	}
	return writeJSON(w, http.StatusOK, collection(sessionsPath, "#SessionCollection.SessionCollection", "Sessions", members...))
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	for _, known := range s.auth.ids() {
		if known == id {
			return writeJSON(w, http.StatusOK, sessionJSON(id, s.cfg.Username))
		}
	}
	return notFound(w, r)
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	if !s.auth.remove(r.PathValue("id")) {
		return notFound(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
