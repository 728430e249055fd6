// htmlrules: the two checks of html-validate 10's recommended preset that html-validate 9 (the
// last major that runs on Debian 12's Node.js 18) lacks, ported as a plugin so the browser
// tests check the same things on either: `autocomplete-password` (a password field says
// whether it wants the saved password or a new one, and never turns autofill off) and
// `valid-for` (a <label for> names a form control, not just any element). A rule the installed
// html-validate already has is left to it, so an upgrade never reports a problem twice.

// Adds the ported rules the installed html-validate (module hv) lacks to config (the parsed
// htmlvalidate.json) and returns it.
export function withPortedRules(hv, config) {
  const { Rule, DOMTokenList, ruleExists } = hv;

  // The first token of autocomplete that is not a grouping one ("section-*", shipping, billing).
  function autofillField(raw, location) {
    const tokens = new DOMTokenList(raw.toLowerCase(), location);
    const index = tokens.findIndex((t) => !(t.startsWith('section-') || t === 'shipping' ||
      t === 'billing'));
    return index < 0 ? null : { value: tokens.item(index), location: tokens.location(index) };
  }

  class AutocompletePassword extends Rule {
    documentation() {
      return {
        description: '`<input type="password">` must have `autocomplete="current-password"` ' +
          '(login) or `"new-password"` (sign-up), never `"off"`.',
        url: 'https://html-validate.org/rules/autocomplete-password.html',
      };
    }

    setup() {
      const isPassword = (event) => event.target.is('input') &&
        String(event.target.getAttribute('type')?.value ?? '').toLowerCase() === 'password';
      this.on('tag:ready', isPassword, (event) => {
        const { target } = event;
        const attr = target.getAttribute('autocomplete');
        if (!attr) {
          this.report(target, '<input type="password"> is missing required "autocomplete" attribute',
            target.location);
          return;
        }
        if (attr.isDynamic || !attr.value) {
          return;
        }
        const field = autofillField(attr.value.toString(), attr.valueLocation);
        if (field && field.value === 'off') {
          this.report(target, '<input type="password"> should not use autocomplete="off"',
            field.location);
        }
      });
    }
  }

  class ValidFor extends Rule {
    documentation() {
      return {
        description: 'The `<label>` `for` attribute must reference a labelable form control.',
        url: 'https://html-validate.org/rules/valid-for.html',
      };
    }

    setup() {
      this.on('dom:ready', (event) => {
        const { document } = event;
        for (const label of document.querySelectorAll('label[for]')) {
          const attr = label.getAttribute('for');
          if (!attr || attr.isDynamic || !attr.value) {
            continue;
          }
          const target = document.querySelector(`[id="${String(attr.value).replace(/["\\]/g, '\\$&')}"]`);
          // A missing target is another rule's business (no-missing-references).
          if (!target || !target.meta || target.meta.labelable) {
            continue;
          }
          this.report(label, '<label> "for" attribute must reference a labelable form control',
            attr.valueLocation);
        }
      });
    }
  }

  const ported = { 'autocomplete-password': AutocompletePassword, 'valid-for': ValidFor };
  const rules = {};
  const enable = {};
  for (const [name, impl] of Object.entries(ported)) {
    if (!ruleExists(name)) {
      rules[`jangteo/${name}`] = impl;
      enable[`jangteo/${name}`] = 'error';
    }
  }
  if (Object.keys(rules).length === 0) {
    return config;
  }
  return {
    ...config,
    plugins: [...(config.plugins || []), { name: 'jangteo', rules }],
    rules: { ...enable, ...config.rules },
  };
}
