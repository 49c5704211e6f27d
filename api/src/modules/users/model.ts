export { ErrorBody, MeResponse, UsersQuery, UsersResponse } from "@parley/contract";
