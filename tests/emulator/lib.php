<?php
/**
 * What every part of the CRM emulator shares: its state (the seed plus what API calls wrote,
 * kept in one JSON file under flock so the server's parallel workers agree), the call log, the
 * faults, and a small request/answer vocabulary.
 */

declare(strict_types=1);

namespace CrmHook\Emulator;

const CRMS = ['activecampaign', 'convertkit', 'kit', 'fluentcrm', 'funnelkit', 'keap'];

/** The CRMs that run inside another WordPress site (REST API, permalinks, application passwords). */
const WORDPRESS_CRMS = ['fluentcrm', 'funnelkit'];

/**
 * Each CRM's rate limit in calls a second, when switched on with POST /_emulator/limits:
 * ActiveCampaign 5/s per account, ConvertKit and Kit 120/min; Keap throttles without a published
 * figure (10/s here); FluentCRM and FunnelKit are WordPress sites (10/s here).
 */
const DOCUMENTED_RATE = [
    'activecampaign' => 5.0, 'convertkit' => 2.0, 'kit' => 2.0, 'fluentcrm' => 10.0, 'funnelkit' => 10.0, 'keap' => 10.0,
];

function state_dir(): string
{
    $dir = getenv('EMULATOR_STATE') ?: (getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run') . '/emulator';
    if (!is_dir($dir)) {
        mkdir($dir, 0700, true);
    }
    return $dir;
}

function seed_file(): string
{
    return getenv('EMULATOR_SEED') ?: dirname(__DIR__) . '/fixtures/crm/seed.json';
}

/**
 * Reads, and optionally changes, the state under an exclusive lock.
 *
 * @template T
 * @param callable(array): T $change gets the state by reference
 * @return T
 */
function with_state(callable $change)
{
    $file = state_dir() . '/state.json';
    $handle = fopen($file, 'c+');
    flock($handle, LOCK_EX);
    $text = stream_get_contents($handle);
    $state = $text ? json_decode($text, true) : null;
    if (!is_array($state)) {
        $state = fresh_state();
    }
    $before = json_encode($state);
    $result = $change($state);
    $after = json_encode($state);
    if ($after !== $before) {
        ftruncate($handle, 0);
        rewind($handle);
        fwrite($handle, $after);
    }
    flock($handle, LOCK_UN);
    fclose($handle);
    return $result;
}

/** The seed, with empty rule lists and fault table. */
function fresh_state(): array
{
    $seed = json_decode((string) file_get_contents(seed_file()), true);
    return $seed + ['rules' => [], 'faults' => [], 'limits' => [], 'next_id' => 9000];
}

function reset_state(): void
{
    with_state(static function (array &$state): void {
        $state = fresh_state();
    });
    @unlink(state_dir() . '/calls.jsonl');
}

/** Appends one call to the log. Credentials are never written: only whether they were right. */
function record(array $call): void
{
    file_put_contents(state_dir() . '/calls.jsonl', json_encode($call) . "\n", FILE_APPEND | LOCK_EX);
}

/** @return list<array> */
function calls(?string $crm): array
{
    $file = state_dir() . '/calls.jsonl';
    $calls = [];
    foreach (is_file($file) ? file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) : [] as $line) {
        $call = json_decode($line, true);
        if ($crm === null || $call['crm'] === $crm) {
            $calls[] = $call;
        }
    }
    return $calls;
}

/** An incoming API request, with the path relative to the CRM's prefix. */
final class Request
{
    /** @param array<string, string> $headers lower-case names */
    public function __construct(
        public string $method,
        public string $path,
        public array $query,
        public string $body,
        public array $headers,
    ) {
    }

    /** @return array<mixed>|null */
    public function json(): ?array
    {
        $json = json_decode($this->body, true);
        return is_array($json) ? $json : null;
    }

    public function header(string $name): string
    {
        return $this->headers[strtolower($name)] ?? '';
    }

    /** HTTP Basic credentials, or null. */
    public function basic(): ?array
    {
        $auth = $this->header('authorization');
        if (!str_starts_with($auth, 'Basic ')) {
            return null;
        }
        $pair = base64_decode(substr($auth, 6), true);
        return $pair === false || !str_contains($pair, ':') ? null : explode(':', $pair, 2);
    }
}

/** An answer: status, JSON (or raw text) and headers. */
final class Answer
{
    /** @param array<string, string> $headers */
    public function __construct(public int $status, public mixed $json, public array $headers = [], public ?string $raw = null)
    {
    }

    public static function json(int $status, mixed $json): self
    {
        return new self($status, $json);
    }

    public function send(): void
    {
        http_response_code($this->status);
        foreach ($this->headers as $name => $value) {
            header("$name: $value");
        }
        if ($this->raw !== null) {
            echo $this->raw;
            return;
        }
        if ($this->status === 204) {
            return;
        }
        header('Content-Type: application/json; charset=utf-8');
        echo json_encode($this->json, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }
}

/**
 * Cursor pagination as Kit does it: `after` is the last id of the previous page.
 *
 * @param list<array> $items each with an `id`
 * @return array{0: list<array>, 1: array}
 */
function cursor_page(array $items, array $query, int $max): array
{
    $per = max(1, min($max, (int) ($query['per_page'] ?? $max)));
    $start = 0;
    if (isset($query['after'])) {
        foreach ($items as $i => $item) {
            if ((string) $item['id'] === base64_decode((string) $query['after'])) {
                $start = $i + 1;
            }
        }
    }
    $page = array_slice($items, $start, $per);
    $last = $page ? end($page) : null;
    return [$page, [
        'has_previous_page' => $start > 0,
        'has_next_page' => $start + $per < count($items),
        'start_cursor' => $page ? base64_encode((string) $page[0]['id']) : null,
        'end_cursor' => $last ? base64_encode((string) $last['id']) : null,
        'per_page' => $per,
    ]];
}

function next_id(array &$state): int
{
    return ++$state['next_id'];
}

/**
 * The contacts that carry a tag, in id order (the order a CRM's listing keeps between pages).
 *
 * @return array<string, array> id => contact
 */
function tagged(array $crm, string $tag): array
{
    $found = [];
    foreach ($crm['contacts'] as $id => $c) {
        if (in_array($tag, array_map('strval', $c['tags']), true)) {
            $found[(string) $id] = $c;
        }
    }
    ksort($found, SORT_NUMERIC);
    return $found;
}
