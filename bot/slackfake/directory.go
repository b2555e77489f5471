package slackfake

import (
	"strings"
	"time"
)

// userObject renders a user as users.info does.
func userObject(u User) map[string]any {
	tz := u.TZ
	if tz == "" {
		tz = "Europe/Berlin"
	}
	return map[string]any{
		"id":        u.ID,
		"team_id":   TeamID,
		"name":      u.Name,
		"deleted":   u.Deleted,
		"real_name": u.RealName,
		"tz":        tz,
		"tz_label":  "Central European Time",
		"tz_offset": 3600,
		"is_bot":    u.ID == BotUserID,
		"is_admin":  false,
		"is_owner":  false,
		"updated":   1700000000,
		"profile": map[string]any{
			"real_name":               u.RealName,
			"real_name_normalized":    u.RealName,
			"display_name":            u.DisplayName,
			"display_name_normalized": u.DisplayName,
			"email":                   u.Email,
			"team":                    TeamID,
		},
	}
}

// usersInfo answers users.info for "user", or for "users" (comma-separated,
// as slack-go's GetUsersInfo sends).
func (s *Server) usersInfo(req apiRequest) reply {
	if list := req.params["users"]; list != "" {
		var users []map[string]any
		for _, id := range strings.Split(list, ",") {
			u, found := s.userLocked(strings.TrimSpace(id))
			if !found {
				return fail("user_not_found")
			}
			users = append(users, userObject(u))
		}
		return ok(map[string]any{"users": users})
	}
	u, found := s.userLocked(req.params["user"])
	if !found {
		return fail("user_not_found")
	}
	return ok(map[string]any{"user": userObject(u)})
}

func (s *Server) usersLookupByEmail(req apiRequest) reply {
	u, found := s.userByEmailLocked(req.params["email"])
	if !found {
		return fail("users_not_found")
	}
	return ok(map[string]any{"user": userObject(u)})
}

// groupObject renders a user group as usergroups.list does.
func groupObject(g Group, withUsers, withCount bool) map[string]any {
	obj := map[string]any{
		"id":           g.ID,
		"team_id":      TeamID,
		"is_usergroup": true,
		"is_subteam":   true,
		"name":         g.Name,
		"description":  "",
		"handle":       g.Handle,
		"is_external":  false,
		"date_create":  1700000000,
		"date_update":  1700000000,
		"date_delete":  0,
		"auto_type":    nil,
		"created_by":   BotUserID,
		"updated_by":   BotUserID,
		"deleted_by":   nil,
		"prefs":        map[string]any{"channels": []string{}, "groups": []string{}},
	}
	if withUsers {
		obj["users"] = nonNil(g.Users)
	}
	if withCount {
		obj["user_count"] = len(g.Users)
	}
	return obj
}

// nonNil turns a nil slice into an empty one, so it renders as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) usergroupsList(req apiRequest) reply {
	withUsers := req.params["include_users"] == "true"
	withCount := req.params["include_count"] == "true"
	groups := []map[string]any{}
	for _, g := range s.groups {
		groups = append(groups, groupObject(g, withUsers, withCount))
	}
	return ok(map[string]any{"usergroups": groups})
}

func (s *Server) usergroupsUsersList(req apiRequest) reply {
	for _, g := range s.groups {
		if g.ID == req.params["usergroup"] {
			return ok(map[string]any{"users": nonNil(g.Users)})
		}
	}
	return fail("no_such_subteam")
}

// conversationsOpen opens the DM ("D"+user) with one user, an MPIM ("G"…)
// with several, or returns the given channel.
func (s *Server) conversationsOpen(req apiRequest) reply {
	var users []string
	for _, u := range strings.Split(req.params["users"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	var ch map[string]any
	switch {
	case req.params["channel"] != "":
		ch = map[string]any{"id": req.params["channel"]}
	case len(users) == 1:
		ch = map[string]any{"id": "D" + users[0], "is_im": true, "user": users[0]}
	case len(users) > 1:
		ch = map[string]any{"id": "G" + strings.Join(users, ""), "is_mpim": true}
	default:
		return fail("users_list_not_supplied")
	}
	id := ch["id"].(string)
	already := s.seq["open:"+id] > 0
	s.nextLocked("open:" + id)
	ch["created"] = time.Now().Unix()
	ch["is_open"] = true
	rep := map[string]any{"channel": ch}
	if already {
		rep["already_open"] = true
		rep["no_op"] = true
	}
	return ok(rep)
}
