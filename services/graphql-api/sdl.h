/*
 * sdl.h — the SDL text of the public GraphQL API.
 */
#ifndef GQL_SDL_H
#define GQL_SDL_H

/* The schema definition language text (static storage). */
const char *gql_sdl(void);

#endif
