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
        $this->configure('keap');
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

    /** @return list<int> HTTP statuses of PARALLEL identical POSTs sent at once. */
    private function fire(string $url, string $body): array
    {
        $query = (string) parse_url($url, PHP_URL_QUERY);
        return array_column($this->parallel(array_fill(0, self::PARALLEL, ['query' => $query, 'body' => $body])), 'status');
    }
}
