package dashboard

import (
	"log/slog"
	"net/http"

	"github.com/rackboot/rackboot/inventory"
)

// ForAPI builds the dashboard that sits beside the operator API api:
// Store, Token and Logger come from the API when cfg leaves them unset, and
// Actions defaults to APIActions over api, so every button runs the API's
// own action code. If the dashboard cannot be built, the handler it
// returns answers 500 and the reason is logged once, rather than taking
// the API down with it.
func ForAPI(cfg Config, api http.Handler, store inventory.Store, token string, log *slog.Logger) http.Handler {
	if cfg.Store == nil {
		cfg.Store = store
	}
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	if cfg.Actions == nil {
		cfg.Actions = APIActions{API: api, Token: cfg.Token}
	}
	d, err := New(cfg)
	if err != nil {
		if log != nil {
			log.Error("dashboard disabled", "err", err)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "dashboard unavailable", http.StatusInternalServerError)
		})
	}
	return d
}
