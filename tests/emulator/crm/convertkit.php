<?php
/**
 * ConvertKit API v3 (`api_secret` in the query or the JSON body) and Kit API v4 (`X-Kit-Api-Key`
 * or a Bearer token, cursor pagination), and their automation-rule webhook:
 * `{"subscriber": {…}}` as JSON. One class, as the two are one product in two API versions.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

final class ConvertKit implements Crm
{
    /**
     * The automation rule events (v3 `POST /v3/automations/hooks`, v4 `POST /v4/webhooks`) and the
     * id each one names in `event` besides its `name`.
     */
    public const EVENTS = [
        'subscriber.subscriber_activate' => null, 'subscriber.subscriber_unsubscribe' => null,
        'subscriber.subscriber_bounce' => null, 'subscriber.subscriber_complain' => null,
        'subscriber.form_subscribe' => 'form_id', 'subscriber.course_subscribe' => 'sequence_id',
        'subscriber.course_complete' => 'sequence_id', 'subscriber.link_click' => 'initiator_value',
        'subscriber.product_purchase' => 'product_id', 'subscriber.tag_add' => 'tag_id',
        'subscriber.tag_remove' => 'tag_id', 'purchase.purchase_create' => null,
    ];

    /** Kit's largest page is 1,000; the emulator's is small so tests see more than one page. */
    public const MAX_PER_PAGE = 25;

    public function __construct(private bool $v4)
    {
    }

    public function authorized(Request $r, array $credentials): bool
    {
        if ($this->v4) {
            $bearer = preg_replace('/^Bearer\s+/i', '', $r->header('authorization'));
            return hash_equals($credentials['api_key'], $r->header('x-kit-api-key')) || hash_equals($credentials['api_key'], (string) $bearer);
        }
        $given = (string) ($r->query['api_secret'] ?? ($r->json()['api_secret'] ?? ''));
        return hash_equals($credentials['api_secret'], $given);
    }

    public function refused(Request $request, array $crm): Answer
    {
        return $this->v4
            ? Answer::json(401, ['errors' => ['The access token is invalid']])
            : Answer::json(401, ['error' => 'Authorization Failed', 'message' => 'API Key not valid']);
    }

    public function route(Request $r, array &$crm, array &$state): Answer
    {
        $v = $this->v4 ? 'v4' : 'v3';
        $p = $r->path;
        if ($r->method === 'GET' && preg_match("#^/$v/subscribers/(\\d+)$#", $p, $m)) {
            return missing($crm, $m[1]) ? $this->notFound() : Answer::json(200, ['subscriber' => $this->subscriber($m[1], $crm['contacts'][$m[1]])]);
        }
        if ($r->method === 'GET' && preg_match("#^/$v/subscribers/(\\d+)/tags$#", $p, $m)) {
            if (missing($crm, $m[1])) {
                return $this->notFound();
            }
            return $this->tagList(array_map(static fn ($t) => (string) $t, $crm['contacts'][$m[1]]['tags']), $crm, $r);
        }
        if ($r->method === 'GET' && !$this->v4 && preg_match('#^/v3/tags/(\d+)/subscriptions$#', $p, $m)) {
            // v3: 50 subscriptions a page, `page` from 1; a subscription names only its subscriber's id.
            if (!isset($crm['tags'][$m[1]])) {
                return $this->notFound();
            }
            $all = tagged($crm, $m[1]);
            $pages = max(1, (int) ceil(count($all) / 50));
            $page = max(1, (int) ($r->query['page'] ?? 1));
            $subs = [];
            foreach (array_slice($all, ($page - 1) * 50, 50, true) as $id => $c) {
                $subs[] = ['id' => 500000 + (int) $id, 'state' => $c['state'] ?? 'active', 'created_at' => '2024-01-02T10:00:00Z', 'source' => null,
                    'referrer' => null, 'subscribable_id' => (int) $m[1], 'subscribable_type' => 'tag', 'subscriber' => ['id' => (int) $id]];
            }
            return Answer::json(200, ['total_subscriptions' => count($all), 'page' => $page, 'total_pages' => $pages, 'subscriptions' => $subs]);
        }
        if ($r->method === 'GET' && $this->v4 && preg_match('#^/v4/tags/(\d+)/subscribers$#', $p, $m)) {
            // v4: cursor pages; `active` subscribers unless `status` says otherwise; the total with `include_total_count`.
            if (!isset($crm['tags'][$m[1]])) {
                return $this->notFound();
            }
            $status = (string) ($r->query['status'] ?? 'active');
            $subs = [];
            foreach (tagged($crm, $m[1]) as $id => $c) {
                if ($status === 'all' || $status === ($c['state'] ?? 'active')) {
                    $subs[] = $this->subscriber((string) $id, $c) + ['tagged_at' => '2024-01-03T10:00:00Z'];
                }
            }
            [$page, $pagination] = cursor_page($subs, $r->query, self::MAX_PER_PAGE);
            if (in_array((string) ($r->query['include_total_count'] ?? ''), ['true', '1'], true)) {
                $pagination['total_count'] = count($subs);
            }
            return Answer::json(200, ['subscribers' => $page, 'pagination' => $pagination]);
        }
        if ($r->method === 'GET' && $p === "/$v/tags") {
            return $this->tagList(array_map('strval', array_keys($crm['tags'])), $crm, $r);
        }
        if ($r->method === 'GET' && $p === "/$v/subscribers") {
            $email = strtolower((string) ($r->query['email_address'] ?? ''));
            // Kit v4 lists `active` subscribers unless `status` says otherwise (`all` for every one).
            $status = $this->v4 ? (string) ($r->query['status'] ?? 'active') : 'all';
            $found = [];
            foreach ($crm['contacts'] as $id => $c) {
                if (strtolower($c['email']) === $email && ($status === 'all' || $status === ($c['state'] ?? 'active'))) {
                    $found[] = $this->subscriber((string) $id, $c);
                }
            }
            return Answer::json(200, $this->v4
                ? ['subscribers' => $found, 'pagination' => cursor_page($found, [], self::MAX_PER_PAGE)[1]]
                : ['total_subscribers' => count($found), 'page' => 1, 'total_pages' => 1, 'subscribers' => $found]);
        }
        if ($r->method === 'PUT' && preg_match("#^/$v/subscribers/(\\d+)$#", $p, $m)) {
            if (missing($crm, $m[1])) {
                return $this->notFound();
            }
            // v4's request schema requires `email_address` (v3's does not).
            if ($this->v4 && trim((string) ($r->json()['email_address'] ?? '')) === '') {
                return Answer::json(422, ['errors' => ["Email address can't be blank"]]);
            }
            foreach ((array) ($r->json()['fields'] ?? []) as $key => $value) {
                $crm['contacts'][$m[1]]['fields'][(string) $key] = (string) $value;
            }
            return Answer::json(200, ['subscriber' => $this->subscriber($m[1], $crm['contacts'][$m[1]])]);
        }
        $rules = $this->v4 ? '/v4/webhooks' : '/v3/automations/hooks';
        if ($r->method === 'POST' && $p === $rules) {
            $body = $r->json() ?? [];
            if (!isset($body['target_url'], $body['event']['name'])) {
                return Answer::json(422, ['errors' => ['target_url and event are required']]);
            }
            // The events of the API's documentation, each with the one id it names (if any): a tag
            // event without its tag, or an id an event does not take, is refused as the CRM does.
            $event = (string) $body['event']['name'];
            if (!array_key_exists($event, self::EVENTS)) {
                return Answer::json(422, ['errors' => ["Event name $event is not a valid event"]]);
            }
            $needs = self::EVENTS[$event];
            $named = array_values(array_diff(array_keys((array) $body['event']), ['name']));
            if ($needs !== null && !isset($body['event'][$needs])) {
                return Answer::json(422, ['errors' => ["Event $event requires $needs"]]);
            }
            if ($named !== [] && $named !== [$needs]) {
                return Answer::json(422, ['errors' => ["Event $event does not take " . implode(', ', $named)]]);
            }
            $id = next_id($state);
            $rule = ['id' => $id, 'account_id' => 1, 'event' => $body['event'], 'target_url' => $body['target_url']];
            $crm['rules'][(string) $id] = $rule;
            // The answer names the event without its `subscriber.` prefix (v3 and v4 examples:
            // `"name": "subscriber_activate"`); v4 adds `initiator_value`.
            $event = ['name' => preg_replace('/^[a-z_]+\./', '', (string) $body['event']['name'])] + $body['event'];
            if ($this->v4) {
                $event += ['initiator_value' => null];
            }
            return Answer::json($this->v4 ? 201 : 200, [$this->v4 ? 'webhook' : 'rule' => ['event' => $event] + $rule]);
        }
        if ($r->method === 'DELETE' && preg_match('#^' . preg_quote($rules, '#') . '/(\d+)$#', $p, $m)) {
            if (!isset($crm['rules'][$m[1]])) {
                return $this->notFound();
            }
            unset($crm['rules'][$m[1]]);
            return $this->v4 ? new Answer(204, null) : Answer::json(200, ['success' => true]);
        }
        $untag = $this->v4 ? '#^/v4/tags/(\d+)/subscribers/(\d+)$#' : '#^/v3/subscribers/(\d+)/tags/(\d+)$#';
        if ($r->method === 'DELETE' && preg_match($untag, $p, $m)) {
            [$sub, $tag] = $this->v4 ? [$m[2], $m[1]] : [$m[1], $m[2]];
            if (missing($crm, $sub)) {
                return $this->notFound();
            }
            $crm['contacts'][$sub]['tags'] = array_values(array_filter($crm['contacts'][$sub]['tags'], static fn ($t) => (string) $t !== $tag));
            return $this->v4 ? new Answer(204, null) : Answer::json(200, ['id' => (int) $tag, 'name' => $crm['tags'][$tag] ?? '']);
        }
        return $this->notFound();
    }

    private function notFound(): Answer
    {
        return $this->v4
            ? Answer::json(404, ['errors' => ['Not Found']])
            : Answer::json(404, ['error' => 'Not Found', 'message' => 'The entity you were trying to find doesn\'t exist']);
    }

    private function tagList(array $ids, array $crm, Request $r): Answer
    {
        $tags = array_map(static fn ($id) => ['id' => (int) $id, 'name' => $crm['tags'][$id] ?? "Tag $id", 'created_at' => '2024-01-01T00:00:00Z'], $ids);
        if (!$this->v4) {
            return Answer::json(200, ['tags' => $tags]);
        }
        [$page, $pagination] = cursor_page($tags, $r->query, self::MAX_PER_PAGE);
        return Answer::json(200, ['tags' => $page, 'pagination' => $pagination]);
    }

    /** ConvertKit keeps only a first name; the last name lives in a custom field. */
    private function subscriber(string $id, array $c): array
    {
        return [
            'id' => (int) $id, 'first_name' => $c['first_name'], 'email_address' => $c['email'], 'state' => $c['state'] ?? 'active',
            'created_at' => '2024-01-02T10:00:00Z', 'fields' => ['last_name' => $c['last_name']] + $c['fields'],
        ];
    }

    public function webhook(string $id, array $c, array $tagNames, array $contract, string $method): array
    {
        $body = ['subscriber' => $this->subscriber($id, $c)];
        return ['method' => 'POST', 'query' => $contract, 'body' => json_encode($body), 'content_type' => 'application/json'];
    }
}
