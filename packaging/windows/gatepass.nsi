; The Windows installer for Gatepass: wraps the PyInstaller one-folder build
; (packaging/gatepass.spec, built on Windows into dist\gatepass) in one setup file.
;
;     makensis /DVERSION=0.1.0 /DSOURCE=..\..\dist\gatepass packaging\windows\gatepass.nsi
;
; Debian's `nsis` package builds it on Linux as well, from a Windows build's folder.
; Per user, no administrator rights (a volunteer's laptop): the program goes to
; %LOCALAPPDATA%\Programs\Gatepass, the checkpoint's data stays where Gatepass keeps
; it (%LOCALAPPDATA%\Gatepass, platformdirs), which installing a newer version over
; this one, or uninstalling, never touches. Not tried on Windows yet: docs/install.md.

Unicode true
!include "MUI2.nsh"

!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef SOURCE
  !define SOURCE "..\..\dist\gatepass"
!endif

Name "Gatepass ${VERSION}"
OutFile "gatepass-${VERSION}-windows-x86_64-setup.exe"
InstallDir "$LOCALAPPDATA\Programs\Gatepass"
InstallDirRegKey HKCU "Software\Gatepass" "InstallDir"
RequestExecutionLevel user
SetCompressor /SOLID lzma

!define MUI_ICON "..\icons\gatepass.ico"
!define MUI_UNICON "..\icons\gatepass.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\gatepass-window.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString SecProgram ${LANG_ENGLISH} "Gatepass"
LangString SecProgram ${LANG_SIMPCHINESE} "Gatepass 门岗通行"
LangString SecAutostart ${LANG_ENGLISH} "Start the gate window at login"
LangString SecAutostart ${LANG_SIMPCHINESE} "登录时自动打开门岗窗口"

Section "!$(SecProgram)" SecMain
  SectionIn RO
  ; A newer version over an older one: the old program files go, the data stays.
  RMDir /r "$INSTDIR\_internal"
  SetOutPath "$INSTDIR"
  File /r "${SOURCE}\*.*"
  File "..\icons\gatepass.ico"
  WriteRegStr HKCU "Software\Gatepass" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "Software\Gatepass" "Version" "${VERSION}"
  CreateDirectory "$SMPROGRAMS\Gatepass"
  CreateShortcut "$SMPROGRAMS\Gatepass\Gatepass.lnk" "$INSTDIR\gatepass-window.exe" "" "$INSTDIR\gatepass.ico"
  CreateShortcut "$SMPROGRAMS\Gatepass\Gatepass demo.lnk" "$INSTDIR\gatepass-window.exe" "demo" "$INSTDIR\gatepass.ico"
  CreateShortcut "$DESKTOP\Gatepass.lnk" "$INSTDIR\gatepass-window.exe" "" "$INSTDIR\gatepass.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Gatepass" "DisplayName" "Gatepass"
  WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Gatepass" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Gatepass" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
  WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Gatepass" "DisplayIcon" "$INSTDIR\gatepass.ico"
SectionEnd

Section /o "$(SecAutostart)" SecAutostart
  CreateShortcut "$SMSTARTUP\Gatepass.lnk" "$INSTDIR\gatepass-window.exe" "" "$INSTDIR\gatepass.ico"
SectionEnd

Section "Uninstall"
  ; The program only: the checkpoint's database, keys, backups and logs stay.
  Delete "$SMSTARTUP\Gatepass.lnk"
  Delete "$DESKTOP\Gatepass.lnk"
  RMDir /r "$SMPROGRAMS\Gatepass"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\gatepass.exe"
  Delete "$INSTDIR\gatepass-window.exe"
  Delete "$INSTDIR\gatepass.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Gatepass"
  DeleteRegKey HKCU "Software\Gatepass"
SectionEnd
