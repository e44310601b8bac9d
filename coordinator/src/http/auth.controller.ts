import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdminAuthService, type Principal } from '../auth/admin-auth.service';
import { AuditService } from '../audit/audit.service';
import { CreateUserDto, SignInDto } from './dtos';
import { CurrentUser, Public, Requires, SESSION_COOKIE, tokenOf } from './auth.guard';
import { SignInResponseDto, UserDto } from './responses';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AdminAuthService, private readonly audit: AuditService) {}

  /** Signs in; the token comes back in the body (for API clients) and as an HttpOnly cookie (for the console). */
  @Post('sign-in')
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ type: SignInResponseDto })
  async signIn(@Body() body: SignInDto, @Res({ passthrough: true }) res: Response) {
    const s = await this.auth.signIn(body.username, body.password);
    res.cookie(SESSION_COOKIE, s.token, { httpOnly: true, sameSite: 'strict', expires: s.expiresAt, path: '/' });
    return { token: s.token, expiresAt: s.expiresAt.toISOString(), user: s.principal };
  }

  @Post('sign-out')
  @Public()
  @HttpCode(204)
  async signOut(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const token = tokenOf(req);
    if (token) {
      // Audited like the sign-in it ends (only a session that existed: a stale cookie is no event).
      const who = await this.auth.resolve(token);
      await this.auth.signOut(token);
      if (who) await this.audit.record(who.username, 'auth.sign-out', who.username);
    }
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  @Get('me')
  @Requires('read')
  @ApiOkResponse({ type: UserDto, description: 'the signed-in user' })
  me(@CurrentUser() user: Principal): UserDto {
    return user;
  }

  @Post('users')
  @Requires('users:write')
  @ApiCreatedResponse({ type: UserDto })
  createUser(@CurrentUser() user: Principal, @Body() body: CreateUserDto): Promise<UserDto> {
    return this.auth.createUser(user.username, body.username, body.password, body.role);
  }
}
