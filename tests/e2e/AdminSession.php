<?php
/**
 * A logged-in wp-admin session for the end-to-end tests: log in as `admin`, then send requests
 * with its cookies (redirects are not followed, so a 302 and its Location can be asserted).
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

trait AdminSession
{
    /** @return string The cookie jar of a fresh admin session. */
    protected function adminLogin(): string
    {
        $jar = tempnam(sys_get_temp_dir(), 'crmhook-cookies');
        $password = trim((string) file_get_contents(self::$runDir . '/admin-password'));
        $curl = curl_init(self::$site . '/wp-login.php');
        curl_setopt_array($curl, [
            CURLOPT_POST => true, CURLOPT_RETURNTRANSFER => true, CURLOPT_COOKIEJAR => $jar, CURLOPT_COOKIEFILE => $jar,
            CURLOPT_COOKIE => 'wordpress_test_cookie=WP%20Cookie%20check',
            CURLOPT_POSTFIELDS => http_build_query(['log' => 'admin', 'pwd' => $password, 'testcookie' => '1', 'redirect_to' => self::$site . '/wp-admin/']),
        ]);
        curl_exec($curl);
        $this->assertSame(302, curl_getinfo($curl, CURLINFO_RESPONSE_CODE), 'admin logged in');
        curl_close($curl);
        return $jar;
    }

    /** @return array{status: int, body: string, location: string} */
    protected function adminGet(string $jar, string $path): array
    {
        $curl = curl_init(str_starts_with($path, 'http') ? $path : self::$site . $path);
        $location = '';
        curl_setopt_array($curl, [
            CURLOPT_RETURNTRANSFER => true, CURLOPT_COOKIEFILE => $jar, CURLOPT_COOKIEJAR => $jar, CURLOPT_TIMEOUT => 30,
            CURLOPT_HEADERFUNCTION => static function ($c, string $line) use (&$location): int {
                if (stripos($line, 'Location:') === 0) {
                    $location = trim(substr($line, 9));
                }
                return strlen($line);
            },
        ]);
        $body = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return ['status' => $status, 'body' => $body, 'location' => $location];
    }
}
