/**
 * Restate's saga against Dormant: bookings as steps, each with its
 * compensation registered first; a `TerminalError` with an error code ends
 * the trip, the compensations run in reverse, and the failure stands.
 */
import * as restate from 'dormant-lambda';

/** What the suppliers were asked to do, in order. */
export const supplierLog: string[] = [];

export const flights = restate.service({
  name: 'flights',
  handlers: {
    book: async (ctx: restate.Context, trip: string) => ctx.run(() => void supplierLog.push(`flight booked for ${trip}`)),
    cancel: async (ctx: restate.Context, trip: string) => ctx.run(() => void supplierLog.push(`flight cancelled for ${trip}`)),
  },
});

export const cars = restate.service({
  name: 'cars',
  handlers: {
    book: async (_ctx: restate.Context, trip: string) => {
      if (trip.includes('no-cars')) throw new restate.TerminalError(`no cars left for ${trip}`, { errorCode: 409 });
      supplierLog.push(`car booked for ${trip}`);
    },
  },
});

export const trips = restate.service({
  name: 'trips',
  handlers: {
    book: async (ctx: restate.Context, trip: string) => {
      const compensations: (() => restate.RestatePromise<unknown>)[] = [];
      try {
        compensations.push(() => ctx.serviceClient(flights).cancel(trip));
        await ctx.serviceClient(flights).book(trip);
        compensations.push(() => ctx.run('cancel car', () => void supplierLog.push(`car cancelled for ${trip}`)));
        await ctx.serviceClient(cars).book(trip);
        return `booked ${trip}`;
      } catch (e) {
        if (e instanceof restate.TerminalError) for (const undo of compensations.reverse()) await undo();
        throw e;
      }
    },
  },
});
