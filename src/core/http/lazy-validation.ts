import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyRouteSchemaDef, FastifySchemaValidationError, FastifyValidationResult } from 'fastify/types/schema.js';

type Compile = (route: FastifyRouteSchemaDef<unknown>) => FastifyValidationResult;
type BuildCompiler = (externalSchemas: Record<string, unknown>, options: unknown) => Compile;

/**
 * Fastify's own Ajv compiler, run when a route is first asked for instead of when the server
 * starts. Compiling every route's schema (and Ajv's meta-schema) up front was a third of the
 * start's CPU before the first token (bench/startup.bench.ts), for routes most starts never
 * see. The schemas, options and error objects are exactly Fastify's; only the moment changes.
 * `compileAll` compiles what is still pending, so a test can prove every schema compiles.
 */
export class LazyValidators {
  private readonly eager = AjvCompiler() as unknown as BuildCompiler;
  private readonly pending = new Set<() => void>();

  /** The `schemaController.compilersFactory.buildValidator` Fastify takes. */
  readonly buildValidator = (externalSchemas: Record<string, unknown>, options: unknown): Compile => {
    let compiler: Compile | undefined;
    return (route) => {
      let validate: FastifyValidationResult | undefined;
      const compile = (): FastifyValidationResult => {
        compiler ??= this.eager(externalSchemas, options);
        validate ??= compiler(route);
        this.pending.delete(compile);
        return validate;
      };
      this.pending.add(compile);
      const lazy: FastifyValidationResult = (data: unknown) => {
        const real = validate ?? compile();
        const result = real(data);
        // Fastify reads a failed check's errors off the function it was given.
        lazy.errors = real.errors as FastifySchemaValidationError[] | null | undefined;
        return result;
      };
      return lazy;
    };
  };

  /** Compiles every schema not yet compiled; throws what Ajv throws for a bad one. */
  compileAll(): number {
    const pending = [...this.pending];
    for (const compile of pending) compile();
    return pending.length;
  }
}
