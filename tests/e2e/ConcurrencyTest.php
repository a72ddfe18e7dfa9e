<?php
/**
 * 50 identical `add` webhooks at once, through nginx and 8 php-fpm workers: exactly one user.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class ConcurrencyTest extends E2ETestCase
{
    private const TRIALS = 20;
    private const PARALLEL = 50;

    public function testFiftyConcurrentIdenticalAddsCreateExactlyOneUser(): void
    {
        // Immediately: every webhook runs in its own request, racing the others for the locks.
        $this->configure('keap', ['queue_mode' => 'immediate']);
        $url = self::$site . '/?' . http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]);
        $results = [];
        for ($trial = 1; $trial <= self::TRIALS; $trial++) {
            $this->resetSite();
            $statuses = $this->fire($url, 'contactId=1001&Email=');
            $contact  = crmhook_fetch_contact(['crm' => 'keap', 'api_url' => self::$emulator . '/keap'] + self::$credentials['keap'], '1001');
            $users    = $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']);
            $links    = $this->rows("SELECT user_id FROM wp_crmhook_contacts WHERE crm = 'keap' AND contact_id = '1001'");
            $results[] = count($users);
            $this->assertCount(1, $users, "trial $trial: one user, statuses " . json_encode(array_count_values($statuses)));
            $this->assertCount(1, $links, "trial $trial: one link");
            $this->assertSame($users[0]['ID'], $links[0]['user_id']);
            $this->assertSame([], array_diff($statuses, [200]), "trial $trial: every webhook answered 200");
        }
        fwrite(STDERR, sprintf("\nconcurrency: %d trials × %d parallel adds → users per trial: %s\n", self::TRIALS, self::PARALLEL, implode(',', $results)));
    }

    public function testFiftyConcurrentIdenticalAddsInAutomaticModeAreAnsweredAndMakeOneUser(): void
    {
        // Automatic (the default): one runs inline, the rest are queued (202) and merged.
        $this->configure('keap');
        $url = self::$site . '/?' . http_build_query(['wpf_action' => 'add', 'access_key' => self::$key]);
        $statuses = $this->fire($url, 'contactId=1001&Email=');
        $this->assertSame([], array_diff($statuses, [200, 202]), 'every webhook answered 2xx: ' . json_encode(array_count_values($statuses)));
        $this->assertContains(202, $statuses, 'a burst is queued');
        $this->queueIdle(30);
        $this->assertSame([], $this->rows("SELECT id, status FROM wp_crmhook_queue WHERE status <> 'done'"), 'the queue drained');
        $contact = crmhook_fetch_contact(['crm' => 'keap', 'api_url' => self::$emulator . '/keap'] + self::$credentials['keap'], '1001');
        $this->assertCount(1, $this->rows('SELECT ID FROM wp_users WHERE user_email = ?', 's', $contact['email']));
        $this->assertCount(1, $this->rows("SELECT user_id FROM wp_crmhook_contacts WHERE crm = 'keap' AND contact_id = '1001'"));
    }

    /** @return list<int> HTTP statuses of PARALLEL identical POSTs sent at once. */
    private function fire(string $url, string $body): array
    {
        $query = (string) parse_url($url, PHP_URL_QUERY);
        return array_column($this->parallel(array_fill(0, self::PARALLEL, ['query' => $query, 'body' => $body])), 'status');
    }
}
