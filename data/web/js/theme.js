// theme.js — light, dark or the system's choice, remembered per browser.

export function applyTheme(theme) {
  const t = theme || localStorage.getItem('lares.theme') || 'system';
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

export function setTheme(theme) {
  localStorage.setItem('lares.theme', theme);
  applyTheme(theme);
}
