package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/deploy"
)

// person is a Slack user as the policy sees them: the actor and their user groups.
type person struct {
	Actor  deploy.Actor
	Groups []string // @handles
	Zone   string   // time zone of the profile (IANA), for showing times
}

type cached[T any] struct {
	v  T
	at time.Time
}

// people looks Slack users and user groups up, and caches both for ttl.
type people struct {
	api *slack.Client
	now func() time.Time
	ttl time.Duration

	mu      sync.Mutex
	users   map[string]cached[person]
	groups  cached[map[string][]string] // user id → @handles
	byEmail map[string]cached[string]
}

// get returns the person behind a Slack user id. A lookup that fails gives the bare id (with
// no email and no groups): the policy then knows only the id.
func (p *people) get(ctx context.Context, id string) (person, error) {
	p.mu.Lock()
	c, ok := p.users[id]
	p.mu.Unlock()
	if ok && p.now().Sub(c.at) < p.ttl {
		return c.v, nil
	}
	u, err := p.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return person{Actor: deploy.Actor{Kind: deploy.ActorUser, ID: id, Name: id}}, fmt.Errorf("users.info %s: %w", id, err)
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = u.RealName
	}
	if name == "" {
		name = u.Name
	}
	groups, err := p.groupsOf(ctx, id)
	if err != nil {
		return person{}, err
	}
	pr := person{Actor: deploy.Actor{Kind: deploy.ActorUser, ID: id, Name: name, Email: u.Profile.Email}, Groups: groups, Zone: u.TZ}
	p.mu.Lock()
	p.users[id] = cached[person]{pr, p.now()}
	p.mu.Unlock()
	return pr, nil
}

// groupsOf returns the @handles of the user groups id is in.
func (p *people) groupsOf(ctx context.Context, id string) ([]string, error) {
	p.mu.Lock()
	g := p.groups
	p.mu.Unlock()
	if g.v == nil || p.now().Sub(g.at) >= p.ttl {
		list, err := p.api.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			return nil, fmt.Errorf("usergroups.list: %w", err)
		}
		m := map[string][]string{}
		for _, ug := range list {
			users := ug.Users
			if len(users) == 0 && ug.UserCount > 0 {
				if users, err = p.api.GetUserGroupMembersContext(ctx, ug.ID); err != nil {
					return nil, fmt.Errorf("usergroups.users.list %s: %w", ug.ID, err)
				}
			}
			for _, u := range users {
				m[u] = append(m[u], "@"+ug.Handle)
			}
		}
		g = cached[map[string][]string]{m, p.now()}
		p.mu.Lock()
		p.groups = g
		p.mu.Unlock()
	}
	return g.v[id], nil
}

// mention returns "<@U…>" for the Slack user with that email, or "" when there is none.
func (p *people) mention(ctx context.Context, email string) string {
	if email == "" {
		return ""
	}
	p.mu.Lock()
	if p.byEmail == nil {
		p.byEmail = map[string]cached[string]{}
	}
	c, ok := p.byEmail[email]
	p.mu.Unlock()
	if !ok || p.now().Sub(c.at) >= p.ttl {
		id := ""
		if u, err := p.api.GetUserByEmailContext(ctx, email); err == nil {
			id = u.ID
		}
		c = cached[string]{id, p.now()}
		p.mu.Lock()
		p.byEmail[email] = c
		p.mu.Unlock()
	}
	if c.v == "" {
		return ""
	}
	return "<@" + c.v + ">"
}
