<?php
/**
 * The CRM emulator: a router for PHP's built-in server.
 *
 *   /<crm>/…        the CRM's API (activecampaign, convertkit, kit, fluentcrm, funnelkit, keap)
 *   /_emulator/…    the control API: reset, calls, contacts, faults, send (see README.md)
 *
 * Started by emulator.sh on 127.0.0.1 only.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

require __DIR__ . '/lib.php';
require __DIR__ . '/crm/Crm.php';


$uri = (string) ($_SERVER['REQUEST_URI'] ?? '/');
$path = (string) parse_url($uri, PHP_URL_PATH);
parse_str((string) parse_url($uri, PHP_URL_QUERY), $query);
$headers = [];
foreach (getallheaders() as $name => $value) {
    $headers[strtolower($name)] = $value;
}
$method = (string) ($_SERVER['REQUEST_METHOD'] ?? 'GET');
$body = (string) file_get_contents('php://input');

if (str_starts_with($path, '/_emulator/')) {
    control(substr($path, strlen('/_emulator')), $method, $query, $body)->send();
    return true;
}

$slug = explode('/', ltrim($path, '/'))[0];
if (!in_array($slug, CRMS, true)) {
    Answer::json(404, ['message' => "unknown CRM '$slug': use /" . implode(', /', CRMS)])->send();
    return true;
}
$crmPath = substr($path, strlen($slug) + 1);
// WordPress serves every REST route at `/?rest_route=/…` too, whatever the permalinks.
$viaRestRoute = in_array($slug, WORDPRESS_CRMS, true) && isset($query['rest_route']) && in_array($crmPath, ['', '/', '/index.php'], true);
if ($viaRestRoute) {
    $crmPath = '/wp-json' . (string) $query['rest_route'];
    unset($query['rest_route']);
}
$request = new Request($method, $crmPath, $query, $body, $headers);
api($slug, $request, $viaRestRoute)->send();
return true;

/** An API call: recorded, then a fault if one is armed, then the auth check and the route. */
function api(string $slug, Request $request, bool $viaRestRoute = false): Answer
{
    $crm = crm($slug);
    [$authorized, $fault, $crmState, $wait] = with_state(static function (array &$state) use ($crm, $slug, $request): array {
        $wait = take_token($state, $slug);
        return [$crm->authorized($request, $state['credentials'][$slug]), $wait === null ? take_fault($state, $slug, $request->path) : null, $state['crms'][$slug], $wait];
    });
    record([
        'time' => microtime(true), 'crm' => $slug, 'method' => $request->method, 'path' => $request->path,
        'query' => array_diff_key($request->query, ['api_secret' => 1]), 'body' => redact($request->body), 'authorized' => $authorized,
    ] + ($wait === null ? [] : ['limited' => true, 'retry_after' => $wait]));
    if ($wait !== null) {
        return new Answer(429, ['message' => 'Too Many Requests'], ['Retry-After' => (string) $wait]);
    }
    if ($fault !== null) {
        $answer = apply_fault($fault);
        if ($answer !== null) {
            return $answer;
        }
    }
    $permalinks = $viaRestRoute ? null : wordpress_permalinks($slug, $request, $crmState);
    if ($permalinks !== null) {
        return $permalinks;
    }
    if (!$authorized) {
        return $crm->refused($request, $crmState);
    }
    return with_state(static function (array &$state) use ($crm, $slug, $request): Answer {
        $state['crms'][$slug] += ['rules' => []];
        return $crm->route($request, $state['crms'][$slug], $state);
    });
}

/**
 * A WordPress site with plain permalinks has no `/wp-json/` URLs: WordPress redirects them
 * (301, to the same path with a slash) and then serves its front page, HTML with a 200.
 */
function wordpress_permalinks(string $slug, Request $request, array $crm): ?Answer
{
    if (!in_array($slug, WORDPRESS_CRMS, true) || empty($crm['plain_permalinks']) || !str_starts_with($request->path, '/wp-json')) {
        return null;
    }
    $html = ['Content-Type' => 'text/html; charset=UTF-8'];
    if (!str_ends_with($request->path, '/')) {
        $query = $request->query ? '?' . http_build_query($request->query) : '';
        return new Answer(301, null, $html + ['Location' => "/$slug{$request->path}/$query", 'X-Redirect-By' => 'WordPress'], '');
    }
    return new Answer(200, null, $html, '<!DOCTYPE html><html><head><title>A WordPress site</title></head><body>Front page</body></html>');
}

/** The body as logged: ConvertKit v3 puts its secret in JSON bodies. */
function redact(string $body): string
{
    return (string) preg_replace('/("api_secret"\s*:\s*")[^"]*"/', '$1[redacted]"', $body);
}

/**
 * The CRM's rate limit, when one is set (POST /_emulator/limits): a token bucket of `burst`
 * calls refilled at `rate` a second. Null when the call may go on, else the Retry-After seconds.
 */
function take_token(array &$state, string $crm): ?int
{
    if (!isset($state['limits'][$crm])) {
        return null;
    }
    $limit = &$state['limits'][$crm];
    $now = microtime(true);
    $rate = max(0.001, (float) $limit['rate']);
    $burst = max(1.0, (float) ($limit['burst'] ?? $rate));
    $limit['tokens'] = min($burst, (float) ($limit['tokens'] ?? $burst) + ($now - (float) ($limit['at'] ?? $now)) * $rate);
    $limit['at'] = $now;
    if ($limit['tokens'] >= 1.0) {
        $limit['tokens'] -= 1.0;
        return null;
    }
    return (int) ($limit['retry_after'] ?? max(1, (int) ceil((1.0 - $limit['tokens']) / $rate)));
}

/** The first armed fault for this call, counted down; null when none. */
function take_fault(array &$state, string $crm, string $path): ?array
{
    foreach ($state['faults'] as $i => $fault) {
        $matches = ($fault['crm'] ?? $crm) === $crm && (
            str_starts_with((string) ($fault['path'] ?? ''), '#') ? preg_match((string) $fault['path'], $path) === 1 : str_starts_with($path, (string) ($fault['path'] ?? ''))
        );
        if (!$matches) {
            continue;
        }
        if (isset($fault['times'])) {
            $state['faults'][$i]['times']--;
            if ($state['faults'][$i]['times'] <= 0) {
                array_splice($state['faults'], $i, 1);
            }
        }
        return $fault;
    }
    return null;
}

/** What a fault does: an answer, or null to go on (after a delay). */
function apply_fault(array $fault): ?Answer
{
    $mode = $fault['mode'] ?? 'status';
    switch ($mode) {
        case 'delay':
            usleep(1000 * (int) ($fault['delay_ms'] ?? 1000));
            return null;
        case 'html':
            return new Answer((int) ($fault['status'] ?? 200), null, ['Content-Type' => 'text/html; charset=UTF-8'],
                '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>Checking your browser before accessing the site.</h1></body></html>');
        case 'redirect':
            return new Answer((int) ($fault['status'] ?? 301), null, ['Content-Type' => 'text/html; charset=UTF-8', 'Location' => (string) ($fault['location'] ?? '/')], '');
        case 'garbage':
            return new Answer((int) ($fault['status'] ?? 200), null, ['Content-Type' => 'application/json'], "\x00\x01%%garbage{{\xff");
        case 'drop':
            // Close the connection without a word: this worker dies, the server forks another.
            if (function_exists('posix_kill')) {
                posix_kill(getmypid(), 9);
            }
            exit(1);
        default:
            $headers = isset($fault['retry_after']) ? ['Retry-After' => (string) $fault['retry_after']] : [];
            $body = $fault['body'] ?? ['message' => 'Service Unavailable'];
            return is_string($body)
                ? new Answer((int) ($fault['status'] ?? 503), null, $headers + ['Content-Type' => 'application/json'], $body)
                : new Answer((int) ($fault['status'] ?? 503), $body, $headers);
    }
}

/** The control API. */
function control(string $path, string $method, array $query, string $body): Answer
{
    $json = json_decode($body, true) ?: [];
    if ($path === '/reset' && $method === 'POST') {
        reset_state();
        return Answer::json(200, ['ok' => true]);
    }
    if ($path === '/calls' && $method === 'GET') {
        return Answer::json(200, calls(isset($query['crm']) ? (string) $query['crm'] : null));
    }
    if ($path === '/faults' && $method === 'POST') {
        with_state(static function (array &$state) use ($json): void {
            $state['faults'][] = $json;
        });
        return Answer::json(200, ['ok' => true]);
    }
    if ($path === '/limits' && $method === 'POST') {
        $crms = isset($json['crm']) ? [(string) $json['crm']] : CRMS;
        with_state(static function (array &$state) use ($json, $crms): void {
            foreach ($crms as $crm) {
                $state['limits'][$crm] = ['rate' => (float) ($json['rate'] ?? DOCUMENTED_RATE[$crm] ?? 5)]
                    + array_intersect_key($json, ['burst' => 1, 'retry_after' => 1]);
            }
        });
        return Answer::json(200, ['ok' => true]);
    }
    if ($path === '/limits' && $method === 'DELETE') {
        with_state(static function (array &$state): void {
            $state['limits'] = [];
        });
        return Answer::json(200, ['ok' => true]);
    }
    if ($path === '/faults' && $method === 'DELETE') {
        with_state(static function (array &$state): void {
            $state['faults'] = [];
        });
        return Answer::json(200, ['ok' => true]);
    }
    if (preg_match('#^/contacts/([a-z]+)/(\d+)$#', $path, $m) && $method === 'GET') {
        $contact = with_state(static fn (array &$state) => $state['crms'][$m[1]]['contacts'][$m[2]] ?? null);
        return $contact === null ? Answer::json(404, ['message' => 'no such contact']) : Answer::json(200, $contact);
    }
    if (preg_match('#^/contacts/([a-z]+)/(\d+)$#', $path, $m) && $method === 'PUT') {
        // A test's own contact (a name shared with another, an administrator's email, …).
        $contact = $json + ['email' => '', 'first_name' => '', 'last_name' => '', 'phone' => '', 'fields' => [], 'tags' => []];
        with_state(static function (array &$state) use ($m, $contact): void {
            $state['crms'][$m[1]]['contacts'][$m[2]] = $contact;
        });
        return Answer::json(200, $contact);
    }
    if (preg_match('#^/contacts/([a-z]+)$#', $path, $m) && $method === 'POST') {
        // Many contacts at once (benchmarks): {"contacts": {"id": {...}, ...}}, each replacing the key given.
        $count = with_state(static function (array &$state) use ($m, $json): int {
            foreach ((array) ($json['contacts'] ?? []) as $id => $fields) {
                $base = $state['crms'][$m[1]]['contacts'][(string) $id] ?? ['email' => "c$id@example.com", 'first_name' => '', 'last_name' => '', 'phone' => '', 'fields' => [], 'tags' => []];
                $state['crms'][$m[1]]['contacts'][(string) $id] = array_merge($base, (array) $fields);
            }
            return count((array) ($json['contacts'] ?? []));
        });
        return Answer::json(200, ['ok' => true, 'contacts' => $count]);
    }
    if (preg_match('#^/contacts/([a-z]+)/tagged$#', $path, $m) && $method === 'POST') {
        // `{"tag": "7", "count": 250, "from": 20001}`: that many new contacts carrying the tag,
        // ids from `from` (default 20001), emails `import-{id}@example.com`. Answers the ids.
        $tag = (string) ($json['tag'] ?? '');
        $count = max(0, min(100000, (int) ($json['count'] ?? 0)));
        $from = max(1, (int) ($json['from'] ?? 20001));
        if ($tag === '' || !in_array($m[1], CRMS, true)) {
            return Answer::json(400, ['error' => 'give a known crm, a tag and a count']);
        }
        with_state(static function (array &$state) use ($m, $tag, $count, $from): void {
            $crm = &$state['crms'][$m[1]];
            $crm['tags'][$tag] ??= "Tag $tag";
            for ($id = $from; $id < $from + $count; $id++) {
                $crm['contacts'][(string) $id] = ['email' => "import-$id@example.com", 'first_name' => "First$id", 'last_name' => 'Imported',
                    'phone' => '', 'fields' => [], 'tags' => [$tag]];
            }
        });
        return Answer::json(200, ['ok' => true, 'first' => $from, 'last' => $from + $count - 1, 'count' => $count]);
    }
    if ($path === '/permalinks' && $method === 'POST') {
        // `{"crm": "fluentcrm", "plain": true}`: that WordPress site's permalinks are Plain.
        with_state(static function (array &$state) use ($json): void {
            $state['crms'][(string) ($json['crm'] ?? '')]['plain_permalinks'] = !empty($json['plain']);
        });
        return Answer::json(200, ['ok' => true]);
    }
    if ($path === '/rules' && $method === 'GET') {
        return Answer::json(200, with_state(static fn (array &$state) => array_map(static fn ($c) => $c['rules'] ?? [], $state['crms'])));
    }
    if ($path === '/send' && $method === 'POST') {
        try {
            return Answer::json(200, send_webhook($json));
        } catch (\InvalidArgumentException $e) {
            return Answer::json(400, ['error' => $e->getMessage()]);
        }
    }
    return Answer::json(404, ['error' => "no control route $method $path"]);
}
