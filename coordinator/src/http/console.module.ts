/**
 * Serves the browser console (coordinator/console, built by Vite into coordinator/console/dist) at
 * `/`. It is mounted after the API routes are registered and before Nest's not-found handler, so it
 * only sees requests no controller took: static files of the build, and for any other GET that is
 * not under /api, index.html (the console routes in the browser). Without a build, `/` says so.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';

/** Where the built console is: FEDCISS_CONSOLE_DIR, or coordinator/console/dist next to this package. */
export function consoleDistDir(): string {
  return resolve(process.env.FEDCISS_CONSOLE_DIR || join(__dirname, '..', '..', 'console', 'dist'));
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fedciss console</title>
<style>body{font:16px/1.5 system-ui,sans-serif;color:#1f2933;margin:4rem auto;max-width:40rem;padding:0 1rem}code{background:#eef2f6;padding:.1rem .3rem;border-radius:4px}</style>
</head><body><h1>fedciss coordinator</h1><p>console not built: run npm run build</p>
<p>That builds the browser console from <code>coordinator/console</code>. The REST API answers meanwhile: see <a href="/api/docs">/api/docs</a>.</p></body></html>`;

@Injectable()
export class ConsoleServer implements OnModuleInit {
  private readonly logger = new Logger('Console');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter || adapter.getType() !== 'express') return;
    const dir = consoleDistDir();
    if (!existsSync(join(dir, 'index.html'))) this.logger.warn(`console not built (${dir} has no index.html): run npm run build`);
    // The folder is looked up per request: a console built while the coordinator runs is served at once.
    adapter.getInstance().use((req: Request, res: Response, next: NextFunction) => this.handle(consoleDistDir(), req, res, next));
  }

  private handle(dir: string, req: Request, res: Response, next: NextFunction): void {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path === '/api' || req.path.startsWith('/api/')) return next();
    const index = join(dir, 'index.html');
    if (!existsSync(index)) {
      res.status(req.path === '/' ? 200 : 404).type('html').send(NOT_BUILT);
      return;
    }
    const rel = decodeURIComponentSafe(req.path).replace(/^\/+/, '');
    const file = rel ? resolve(dir, rel) : index;
    const inside = file === dir || file.startsWith(dir + '/') || file.startsWith(dir + '\\');
    if (rel && inside && isFile(file)) {
      // Vite puts content-hashed files under assets/: cache them for good; everything else revalidates.
      const immutable = rel.startsWith('assets/');
      // send() decodes the path itself: hand it the path as it came.
      res.sendFile(req.path.replace(/^\/+/, ''), { root: dir, dotfiles: 'deny', maxAge: immutable ? '365d' : 0, immutable }, (e) => e && next(e));
      return;
    }
    // A missing file with an extension is a 404, not the app (avoids answering /favicon.ico with HTML).
    if (/\.[a-z0-9]+$/i.test(rel)) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: dir }, (e) => e && next(e));
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Import into the coordinator's module: `imports: [ConsoleModule]`. */
@Module({ providers: [ConsoleServer] })
export class ConsoleModule {}
