import { readFileSync } from 'node:fs';

/**
 * Fills the tempest.conf template: `@NAME@` placeholders get values, `$` is doubled for
 * oslo.config, and `key = ` lines left empty are dropped so tempest keeps its default.
 */
export function renderTempestConf(templatePath: string, values: Record<string, string>): string {
  const template = readFileSync(templatePath, 'utf8');
  const filled = template.replace(/@([A-Z0-9_]+)@/g, (_match, name: string) => {
    const value = values[name];
    return value === undefined ? '' : value.replaceAll('$', '$$$$');
  });
  return filled
    .split('\n')
    .filter((line) => !/^\s*[a-z0-9_]+\s*=\s*$/i.test(line))
    .join('\n');
}
