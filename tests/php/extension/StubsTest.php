<?php
/**
 * php-stubs/crmhook.stubs.php documents the extension for IDEs and static analysis: it must say
 * exactly what the loaded extension has. The stubs cannot be included (their functions already
 * exist), so they are read with the tokenizer and compared with Reflection.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use ReflectionClass;
use ReflectionExtension;
use ReflectionFunction;
use ReflectionNamedType;
use ReflectionType;

final class StubsTest extends ExtensionTestCase
{
    private const STUBS = CRMHOOK_TEST_ROOT . '/php-stubs/crmhook.stubs.php';

    /**
     * The functions and classes the stubs declare.
     *
     * @return array{functions: array<string, array{params: list<array{name: string, type: string, default: ?string}>, return: string}>, classes: array<string, string>}
     */
    private static function readStubs(): array
    {
        $tokens = array_values(array_filter(
            token_get_all((string) file_get_contents(self::STUBS)),
            static fn ($t) => !is_array($t) || !in_array($t[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT], true),
        ));
        $text = static fn ($t): string => is_array($t) ? $t[1] : $t;
        $functions = [];
        $classes = [];
        $namespace = '';
        $count = count($tokens);
        for ($i = 0; $i < $count; $i++) {
            $t = $tokens[$i];
            if (is_array($t) && $t[0] === T_NAMESPACE) {
                $namespace = $text($tokens[$i + 1]) === '{' ? '' : $text($tokens[$i + 1]);
                continue;
            }
            if (is_array($t) && $t[0] === T_CLASS) {
                $name = ltrim($namespace . '\\' . $text($tokens[$i + 1]), '\\');
                $parent = '';
                if (is_array($tokens[$i + 2]) && $tokens[$i + 2][0] === T_EXTENDS) {
                    $parent = ltrim($text($tokens[$i + 3]), '\\');
                }
                $classes[$name] = $parent;
                continue;
            }
            if (!is_array($t) || $t[0] !== T_FUNCTION) {
                continue;
            }
            $name = ltrim($namespace . '\\' . $text($tokens[++$i]), '\\');
            $i++; // '('
            $params = [];
            $current = [];
            $depth = 1;
            while ($depth > 0) {
                $tok = $tokens[++$i];
                $s = $text($tok);
                if ($s === '(' || $s === '[') {
                    $depth++;
                } elseif ($s === ')' || $s === ']') {
                    $depth--;
                }
                if ($depth === 0 || ($depth === 1 && $s === ',')) {
                    if ($current !== []) {
                        $params[] = self::stubParam($current, $text);
                    }
                    $current = [];
                    continue;
                }
                $current[] = $tok;
            }
            $return = '';
            if ($text($tokens[$i + 1]) === ':') {
                $i++;
                while (!in_array($text($tokens[$i + 1]), ['{', ';'], true)) {
                    $return .= $text($tokens[++$i]);
                }
            }
            $functions[$name] = ['params' => $params, 'return' => self::normalType($return)];
        }
        return ['functions' => $functions, 'classes' => $classes];
    }

    /**
     * @param list<mixed> $tokens one parameter: type tokens, the variable, maybe `= default`
     * @return array{name: string, type: string, default: ?string}
     */
    private static function stubParam(array $tokens, callable $text): array
    {
        $type = '';
        $name = '';
        $default = null;
        foreach ($tokens as $tok) {
            if ($default !== null) {
                $default .= $text($tok);
            } elseif (is_array($tok) && $tok[0] === T_VARIABLE) {
                $name = substr($tok[1], 1);
            } elseif ($text($tok) === '=') {
                $default = '';
            } elseif ($name === '') {
                $type .= $text($tok);
            }
        }
        return ['name' => $name, 'type' => self::normalType($type), 'default' => $default === null ? null : strtolower($default)];
    }

    private static function normalType(string $type): string
    {
        $type = ltrim($type, '\\');
        if (preg_match('/\A(\w+)\|null\z|\Anull\|(\w+)\z/i', $type, $m)) {
            $type = '?' . ($m[1] !== '' ? $m[1] : $m[2]);
        }
        return strtolower($type);
    }

    private static function reflectedType(?ReflectionType $type): string
    {
        if ($type === null) {
            return '';
        }
        $name = $type instanceof ReflectionNamedType ? $type->getName() : (string) $type;
        $nullable = $type->allowsNull() && $name !== 'null' && $name !== 'mixed';
        return strtolower(($nullable ? '?' : '') . $name);
    }

    /** @return array{params: list<array{name: string, type: string, default: ?string}>, return: string} */
    private static function reflected(string $function): array
    {
        $f = new ReflectionFunction($function);
        $params = [];
        foreach ($f->getParameters() as $p) {
            $params[] = [
                'name' => $p->getName(),
                'type' => self::reflectedType($p->getType()),
                'default' => $p->isOptional() ? strtolower(var_export($p->getDefaultValue(), true)) : null,
            ];
        }
        return ['params' => $params, 'return' => self::reflectedType($f->getReturnType())];
    }

    public function testStubsFileParsesAndDeclaresTheApi(): void
    {
        $this->assertFileExists(self::STUBS);
        $stubs = self::readStubs();
        // The reader itself: it must find what is plainly in the file.
        $this->assertArrayHasKey('crmhook_parse_webhook', $stubs['functions']);
        $this->assertSame(
            ['params' => [['name' => 'length', 'type' => 'int', 'default' => '24']], 'return' => 'string'],
            $stubs['functions']['crmhook_generate_password'] ?? null,
        );
        $this->assertSame('RuntimeException', $stubs['classes']['CrmHook\WebhookException'] ?? null);
    }

    public function testEveryStubFunctionExistsWithTheSameSignature(): void
    {
        $stubs = self::readStubs()['functions'];
        $this->assertNotEmpty($stubs);
        foreach ($stubs as $name => $stub) {
            $this->assertTrue(function_exists($name), "$name is in the stubs but not in the extension");
            $this->assertSame('crmhook', (new ReflectionFunction($name))->getExtensionName(), $name);
            $this->assertSame($stub, self::reflected($name), "$name: stubs and extension disagree");
        }
    }

    public function testEveryExtensionFunctionIsInTheStubs(): void
    {
        $stubs = self::readStubs()['functions'];
        $missing = array_values(array_diff(array_keys((new ReflectionExtension('crmhook'))->getFunctions()), array_keys($stubs)));
        $this->assertSame([], $missing, 'functions of the extension missing from php-stubs/crmhook.stubs.php (run make stubs)');
    }

    public function testStubClassesMatchTheExtensionClasses(): void
    {
        $stubs = self::readStubs()['classes'];
        $extension = (new ReflectionExtension('crmhook'))->getClassNames();
        sort($extension);
        $declared = array_keys($stubs);
        sort($declared);
        $this->assertSame($extension, $declared);
        foreach ($stubs as $class => $parent) {
            $this->assertSame($parent, (new ReflectionClass($class))->getParentClass()->getName(), $class);
        }
    }
}
